"""Resource plugins: what a reservation of each ``resource_type`` does, and when."""
