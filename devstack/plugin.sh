#!/usr/bin/env bash
# devstack plugin for Climate: installs it, creates its database, service user and
# Keystone endpoint (service type "reservation"), the freepool aggregate, adds the
# scheduler filter to nova-scheduler, sets Placement's allocation_conflict_retry_count
# to 1 (capacity reservations), and runs climate-api (uwsgi) and climate-manager.
# shellcheck disable=SC2154  # devstack defines the variables used here

function install_climate {
    setup_develop "$CLIMATE_DIR"
    # The filter runs inside nova-scheduler: make climate importable there too.
    pip_install --no-deps -e "$CLIMATE_DIR"
}

function configure_climate {
    sudo install -d -o "$STACK_USER" "$CLIMATE_CONF_DIR"
    rm -f "$CLIMATE_CONF_FILE"

    iniset "$CLIMATE_CONF_FILE" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$CLIMATE_CONF_FILE" DEFAULT auth_strategy keystone
    iniset "$CLIMATE_CONF_FILE" DEFAULT transport_url "$(get_transport_url)"
    iniset "$CLIMATE_CONF_FILE" database connection "$(database_connection_url "$CLIMATE_DB_NAME")"
    iniset "$CLIMATE_CONF_FILE" manager plugins "$CLIMATE_PLUGINS"
    iniset "$CLIMATE_CONF_FILE" compute driver nova
    iniset "$CLIMATE_CONF_FILE" physical:host az_prefix "$CLIMATE_AZ_PREFIX"

    configure_keystone_authtoken_middleware "$CLIMATE_CONF_FILE" "$CLIMATE_USER_NAME"

    iniset "$CLIMATE_CONF_FILE" nova auth_type password
    iniset "$CLIMATE_CONF_FILE" nova auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$CLIMATE_CONF_FILE" nova username "$CLIMATE_USER_NAME"
    iniset "$CLIMATE_CONF_FILE" nova password "$SERVICE_PASSWORD"
    iniset "$CLIMATE_CONF_FILE" nova project_name "$SERVICE_PROJECT_NAME"
    iniset "$CLIMATE_CONF_FILE" nova user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$CLIMATE_CONF_FILE" nova project_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$CLIMATE_CONF_FILE" nova region_name "$REGION_NAME"
    iniset "$CLIMATE_CONF_FILE" nova aggregate_freepool_name "$CLIMATE_FREEPOOL_NAME"

    write_uwsgi_config "$CLIMATE_UWSGI_CONF" "$CLIMATE_UWSGI" "/reservation" "" "climate-api"
}

function configure_nova_for_climate {
    # Keep Nova's filters and add Climate's (available_filters is a multi-valued option).
    iniset "$NOVA_CONF" filter_scheduler available_filters nova.scheduler.filters.all_filters
    iniadd "$NOVA_CONF" filter_scheduler available_filters "$CLIMATE_FILTER"
    local enabled
    enabled=$(iniget "$NOVA_CONF" filter_scheduler enabled_filters)
    if [[ ",$enabled," != *",ClimateFilter,"* ]]; then
        iniset "$NOVA_CONF" filter_scheduler enabled_filters "${enabled:+$enabled,}ClimateFilter"
    fi
    iniset "$NOVA_CONF" climate aggregate_freepool_name "$CLIMATE_FREEPOOL_NAME"
    iniset "$NOVA_CONF" climate az_prefix "$CLIMATE_AZ_PREFIX"
}

function configure_placement_for_climate {
    # A capacity reservation's boots are bounded by Placement's claim of its units. With
    # more than one server-side retry, a claim retried after a provider generation
    # conflict counts its own first attempt as earlier usage and passes the capacity
    # check; with one, the conflict goes back to nova-scheduler, which claims afresh.
    iniset "$PLACEMENT_CONF" placement allocation_conflict_retry_count 1
}

function create_climate_accounts {
    create_service_user "$CLIMATE_USER_NAME" "admin"
    get_or_create_service "climate" "reservation" "Resource reservation service"
    get_or_create_endpoint "reservation" "$REGION_NAME" \
        "$CLIMATE_SERVICE_PROTOCOL://$CLIMATE_SERVICE_HOST/reservation/v1"
}

function init_climate {
    recreate_database "$CLIMATE_DB_NAME"
    climate-db-manage --config-file "$CLIMATE_CONF_FILE" upgrade head
}

function create_climate_freepool {
    openstack --os-compute-api-version 2.1 aggregate show "$CLIMATE_FREEPOOL_NAME" \
        >/dev/null 2>&1 || \
        openstack aggregate create "$CLIMATE_FREEPOOL_NAME"
}

function start_climate {
    run_process climate-api "$(which uwsgi) --procname-prefix climate-api --ini $CLIMATE_UWSGI_CONF"
    run_process climate-manager "$(which climate-manager) --config-file $CLIMATE_CONF_FILE"
}

function stop_climate {
    stop_process climate-api
    stop_process climate-manager
}

function cleanup_climate {
    remove_uwsgi_config "$CLIMATE_UWSGI_CONF" "climate-api"
    sudo rm -rf "$CLIMATE_CONF_DIR"
}

if is_service_enabled climate-api climate-manager; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing Climate"
        install_climate
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring Climate"
        configure_climate
        configure_nova_for_climate
        configure_placement_for_climate
        create_climate_accounts
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing Climate"
        init_climate
        create_climate_freepool
        start_climate
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_climate
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_climate
    fi
fi
