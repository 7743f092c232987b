# Setting up the Python side: install_kerasclr() and kerasclr_sitrep().

#' Install the Python dependencies of kerasclr
#'
#' Creates a Python virtual environment (with [reticulate::virtualenv_create()]) and
#' installs Keras 3 (3.8 or later), NumPy, scikit-learn and one or more Keras backends
#' into it. kerasclr uses the environment `"r-kerasclr"` automatically when it is
#' loaded, unless `RETICULATE_PYTHON` is set or Python is already running.
#'
#' With reticulate older than 1.36, which cannot convert NumPy 2 arrays, `numpy<2` and
#' `ml_dtypes<0.6` are installed.
#'
#' @param envname (string) Name (or path) of the virtual environment.
#' @param backend (character) One or more of `"tensorflow"`, `"jax"`, `"torch"`: the Keras
#'   backends to install. The first one is the default backend; choose another with the
#'   environment variable `KERAS_BACKEND`.
#' @param ... Further arguments for [reticulate::virtualenv_create()], e.g. `python` or
#'   `version` to choose the Python interpreter.
#' @param extra_packages (character) Further Python packages to install.
#' @param restart_session (logical) Restart the R session afterwards when running in
#'   RStudio (needs the rstudioapi package), so that the new environment is picked up.
#' @returns `NULL`, invisibly. Called for its side effect.
#' @family setup
#' @examples
#' \dontrun{
#' install_kerasclr()
#' install_kerasclr(backend = c("jax", "torch"))
#' }
#' @export
install_kerasclr <- function(envname = "r-kerasclr", backend = c("tensorflow", "jax", "torch"),
                             ..., extra_packages = NULL, restart_session = TRUE) {
  if (!(is.character(envname) && length(envname) == 1 && !is.na(envname) && nzchar(envname))) {
    arg_error("envname", "a non-empty string", envname)
  }
  backend <- check_backends(backend)
  if (!is.null(extra_packages) && !(is.character(extra_packages) && !anyNA(extra_packages))) {
    arg_error("extra_packages", "a character vector or NULL", extra_packages)
  }
  check_flag(restart_session, "restart_session")
  packages <- c(kerasclr_python_packages(backend), extra_packages)

  reticulate::virtualenv_create(envname, ..., packages = NULL)
  reticulate::virtualenv_install(envname, packages = packages, ignore_installed = FALSE)
  message(sprintf("Installed %s into the virtualenv \"%s\".", paste(packages, collapse = ", "), envname))

  if (reticulate::py_available(initialize = FALSE)) {
    message("Python is already running in this session: restart R to use the new environment.")
    if (restart_session && requireNamespace("rstudioapi", quietly = TRUE) &&
        rstudioapi::isAvailable() && rstudioapi::hasFun("restartSession")) {
      rstudioapi::restartSession()
    }
  }
  invisible(NULL)
}

#' Report on the Python set-up of kerasclr
#'
#' Prints which Python reticulate uses, the versions of NumPy, Keras and the Keras
#' backends found there, the reticulate version, and what to do about any problem. Like
#' greta's `greta_sitrep()`. It starts Python if it is not running yet.
#'
#' @returns A list with elements `reticulate`, `reticulate_python`, `virtualenv`, `python`,
#'   `numpy`, `keras`, `backend`, `backend_versions` and `problems` (character, empty when all is well),
#'   invisibly.
#' @family setup
#' @examples
#' kerasclr_sitrep()
#' @export
kerasclr_sitrep <- function() {
  info <- python_setup_info()
  print_sitrep(info)
  invisible(info)
}

# ---------------------------------------------------------------------------

print_sitrep <- function(info) {
  line <- function(label, value) cat(sprintf("%-22s %s\n", paste0(label, ":"), value))
  na <- function(x) if (is.null(x) || is.na(x)) "not found" else as.character(x)
  cat("kerasclr situation report\n")
  line("reticulate", as.character(info$reticulate))
  line("RETICULATE_PYTHON", if (nzchar(info$reticulate_python)) info$reticulate_python else "(unset)")
  line("virtualenv r-kerasclr", if (isTRUE(info$virtualenv)) "exists" else "not found")
  line("Python", na(info$python))
  line("NumPy", na(info$numpy))
  line("Keras", na(info$keras))
  line("Keras backend", na(info$backend))
  for (name in names(info$backend_versions)) line(paste0("  ", name), na(info$backend_versions[[name]]))
  if (length(info$problems) == 0) {
    cat("\nAll set: kerasclr can use Python, NumPy and Keras.\n")
  } else {
    cat("\nProblems:\n")
    cat(paste0("- ", info$problems, collapse = "\n"), "\n", sep = "")
  }
}

KERAS_BACKENDS <- c("tensorflow", "jax", "torch")

# The oldest Keras 3 kerasclr supports: scripts/test.sh runs the TensorFlow tests against it
# (scripts/requirements-oldest-keras.txt). Keep inst/python/pyproject.toml and the README in step.
KERAS_MIN_VERSION <- "3.8"

check_backends <- function(backend) {
  if (identical(backend, KERAS_BACKENDS)) return(KERAS_BACKENDS[[1]])
  if (!(is.character(backend) && length(backend) >= 1 && !anyNA(backend) &&
        all(backend %in% KERAS_BACKENDS))) {
    arg_error("backend", paste0("one or more of ", paste0("\"", KERAS_BACKENDS, "\"", collapse = ", ")),
              backend)
  }
  unique(backend)
}

# The pip requirements for the chosen backends, given the reticulate version.
kerasclr_python_packages <- function(backend, reticulate_version = NULL) {
  reticulate_version <- reticulate_version %||% utils::packageVersion("reticulate")
  backend_packages <- c(tensorflow = "tensorflow", jax = "jax[cpu]", torch = "torch")
  numpy <- if (reticulate_version < "1.36") c("numpy<2", "ml_dtypes<0.6") else "numpy"
  c(paste0("keras>=", KERAS_MIN_VERSION), numpy, unname(backend_packages[check_backends(backend)]),
    "scikit-learn")
}

# The NumPy problem of check_python_setup(), or NULL: reticulate < 1.36 cannot convert
# NumPy 2 arrays. Versions are arguments so that the message is testable without them.
numpy_problem <- function(numpy_version, reticulate_version = NULL) {
  if (is.null(numpy_version) || is.na(numpy_version)) return(NULL)
  reticulate_version <- reticulate_version %||% utils::packageVersion("reticulate")
  numpy_version <- numeric_version(as.character(numpy_version), strict = FALSE)
  if (numpy_version < "2.0" || reticulate_version >= "1.36") return(NULL)
  sprintf(paste0(
    "NumPy %s cannot be converted by reticulate %s (it needs reticulate >= 1.36). ",
    "Either update reticulate (install.packages(\"reticulate\")) or install NumPy 1.x ",
    "in the Python environment: reticulate::py_install(c(\"numpy<2\", \"ml_dtypes<0.6\")), ",
    "or run `kerasclr::install_kerasclr()`."),
    numpy_version, reticulate_version)
}

# Everything kerasclr_sitrep() reports. `probe` and the reticulate version are arguments so
# that the messages are testable without the set-up they describe.
python_setup_info <- function(probe = probe_python, reticulate_version = NULL) {
  info <- list(reticulate = reticulate_version %||% utils::packageVersion("reticulate"),
               reticulate_python = Sys.getenv("RETICULATE_PYTHON"),
               virtualenv = tryCatch(reticulate::virtualenv_exists("r-kerasclr"), error = function(e) FALSE))
  info <- c(info, probe())
  problems <- character()
  if (is.null(info$python)) {
    problems <- c(problems, setup_problem("python"))
  } else if (is.null(info$numpy)) {
    problems <- c(problems, setup_problem("numpy", info$python))
  } else {
    problems <- c(problems, numpy_problem(info$numpy, info$reticulate))
  }
  if (!is.null(info$python) && is.null(info$keras)) {
    problems <- c(problems, setup_problem("keras", info$python))
  } else if (!is.null(info$keras) && numeric_version(info$keras, strict = FALSE) < KERAS_MIN_VERSION) {
    problems <- c(problems, setup_problem("old_keras", version = info$keras))
  }
  info$problems <- problems
  info
}

probe_python <- function() {
  if (!tryCatch(reticulate::py_available(initialize = TRUE), error = function(e) FALSE)) return(list())
  version_of <- function(module) {
    if (!reticulate::py_module_available(module)) return(NULL)
    tryCatch(as.character(reticulate::import(module)$`__version__`), error = function(e) NULL)
  }
  keras <- version_of("keras")
  backend <- if (!is.null(keras)) {
    tryCatch(reticulate::import("keras")$backend$backend(), error = function(e) NULL)
  }
  list(
    python = reticulate::py_config()$python,
    numpy = version_of("numpy"),
    keras = keras,
    backend = backend,
    backend_versions = lapply(stats::setNames(nm = KERAS_BACKENDS), version_of)
  )
}
