# assets.cmake - the topology page (admin/web/) compiled into the binary.
# Included by the top-level CMakeLists.txt.  admin/web/embed.cmake turns the files into
# ${CMAKE_BINARY_DIR}/generated/admin_assets.c at build time (editing a file rebuilds it);
# nomid_admin_assets is that table plus nma_asset_find() (admin/assets.h), linked into
# the admin library.

set(NOMID_WEB_DIR ${CMAKE_CURRENT_LIST_DIR}/web)
# Served as "/" (index.html) and "/<name>"; add new page files here.
set(NOMID_WEB_FILES index.html app.js style.css)
list(TRANSFORM NOMID_WEB_FILES PREPEND ${NOMID_WEB_DIR}/ OUTPUT_VARIABLE NOMID_WEB_PATHS)
set(NOMID_ASSETS_C ${CMAKE_BINARY_DIR}/generated/admin_assets.c)

add_custom_command(
  OUTPUT ${NOMID_ASSETS_C}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${NOMID_WEB_DIR} -DOUTPUT=${NOMID_ASSETS_C}
          "-DFILES=${NOMID_WEB_FILES}" -P ${NOMID_WEB_DIR}/embed.cmake
  DEPENDS ${NOMID_WEB_PATHS} ${NOMID_WEB_DIR}/embed.cmake
  COMMENT "Embedding admin/web/ into generated/admin_assets.c"
  VERBATIM)

add_library(nomid_admin_assets STATIC ${CMAKE_CURRENT_LIST_DIR}/assets.c ${NOMID_ASSETS_C})
target_include_directories(nomid_admin_assets PUBLIC ${CMAKE_CURRENT_LIST_DIR})
