"""Climate's database: models, transactions (oslo.db enginefacade) and migrations."""
