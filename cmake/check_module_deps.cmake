# Enforces the module graph (docs/architecture.md): a module's sources and public headers may
# include only headers of the modules it declares as dependencies (directly or through them).
# Called at configure time after every maeul_module(); a violation stops the configure with the
# offending file and include.
function(maeul_check_module_deps)
  get_property(modules GLOBAL PROPERTY MAEUL_MODULES)
  foreach(m IN LISTS modules)
    # transitive closure of the declared maeul_* dependencies
    set(allowed ${m})
    set(frontier ${m})
    while(frontier)
      list(POP_FRONT frontier cur)
      get_property(deps GLOBAL PROPERTY MAEUL_DEPS_${cur})
      foreach(d IN LISTS deps)
        if(d MATCHES "^maeul_(.+)$")
          set(dm ${CMAKE_MATCH_1})
          if(NOT dm IN_LIST allowed)
            list(APPEND allowed ${dm})
            list(APPEND frontier ${dm})
          endif()
        endif()
      endforeach()
    endwhile()
    file(GLOB files ${CMAKE_SOURCE_DIR}/src/${m}/*.cpp ${CMAKE_SOURCE_DIR}/src/${m}/*.hpp
         ${CMAKE_SOURCE_DIR}/include/maeul/${m}/*.hpp)
    foreach(f IN LISTS files)
      file(STRINGS ${f} lines REGEX "^#include \"maeul/[a-z_]+/")
      foreach(line IN LISTS lines)
        string(REGEX MATCH "maeul/([a-z_]+)/" _ "${line}")
        set(used ${CMAKE_MATCH_1})
        if(NOT used IN_LIST allowed)
          file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${f})
          message(FATAL_ERROR "module graph: ${rel} (module ${m}) includes maeul/${used}/, "
                              "but ${m} does not depend on ${used} (declare it in CMakeLists.txt, "
                              "or move the type to a module both may use)")
        endif()
      endforeach()
    endforeach()
  endforeach()
endfunction()
