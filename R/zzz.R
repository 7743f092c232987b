.onLoad <- function(libname, pkgname) {
  # Use the environment made by install_kerasclr() unless the user chose a Python
  # (RETICULATE_PYTHON) or one is already running. Nothing is imported here (unless
  # Python's keras already is: see register_on_keras_import()).
  try(silent = TRUE, {
    if (!nzchar(Sys.getenv("RETICULATE_PYTHON")) &&
        !reticulate::py_available(initialize = FALSE) &&
        reticulate::virtualenv_exists("r-kerasclr")) {
      reticulate::use_virtualenv("r-kerasclr", required = FALSE)
    }
  })
  try(silent = TRUE, register_on_keras_import())
  invisible()
}
