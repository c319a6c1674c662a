# `npm ci` in WEB (the lockfile's exact versions) unless node_modules already holds MQTT.js's
# browser build: a vendored or earlier install is used as it is, offline. Run by tern_web.
if(EXISTS ${WEB}/node_modules/mqtt/dist/mqtt.esm.js)
    return()
endif()
execute_process(COMMAND ${NPM} ci --no-audit --no-fund WORKING_DIRECTORY ${WEB}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "web: npm ci failed (${rc}); it needs the npm registry once, or a "
                        "node_modules directory with the packages of package-lock.json")
endif()
