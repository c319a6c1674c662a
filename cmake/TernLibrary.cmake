# tern_library(NAME name DEPS dep...): a static library of every .c in the calling directory,
# exposing only that directory's headers.
function(tern_library)
    cmake_parse_arguments(L "" "NAME" "DEPS" ${ARGN})
    file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
    add_library(${L_NAME} STATIC ${srcs})
    target_include_directories(${L_NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${L_NAME} PUBLIC ${L_DEPS})
endfunction()

# tern_unit_test(NAME name SOURCES src... LIBS lib...): one test binary = one ctest test.
function(tern_unit_test)
    cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS" ${ARGN})
    add_executable(${T_NAME} ${T_SOURCES})
    set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    target_link_libraries(${T_NAME} PRIVATE tern_test_support ${T_LIBS})
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
endfunction()
