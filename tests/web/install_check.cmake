# web_dashboard_install: installs the `web` component of the build tree BUILD into a scratch
# prefix PREFIX and checks that the dashboard is where docs/dashboard.md says (share/tern/web):
# the page, its modules, the vendored MQTT.js and build.json.
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --component web --prefix ${PREFIX}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install --component web failed (${rc})")
endif()
foreach(f index.html app.css js/main.js js/api.js vendor/mqtt.esm.js vendor/mqtt.LICENSE.md
          build.json)
    if(NOT EXISTS ${PREFIX}/share/tern/web/${f})
        message(FATAL_ERROR "not installed: ${PREFIX}/share/tern/web/${f}")
    endif()
endforeach()
file(READ ${PREFIX}/share/tern/web/build.json info)
if(NOT info MATCHES "\"mqtt\": \"[0-9]")
    message(FATAL_ERROR "build.json does not name the vendored MQTT.js: ${info}")
endif()
message(STATUS "dashboard installed in ${PREFIX}/share/tern/web")
file(REMOVE_RECURSE ${PREFIX})
