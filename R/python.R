# Access to the Python core, and the argument checks shared by every R function.
# Python is imported lazily, the first time a function needs it.

.kerasclr <- new.env(parent = emptyenv())

# The kerasclr Python package (inst/python/kerasclr), imported once.
kerasclr_py <- function() {
  if (is.null(.kerasclr$module)) {
    check_python_setup()
    path <- system.file("python", package = "kerasclr")
    .kerasclr$module <- py_call(reticulate::import_from_path("kerasclr", path = path))
  }
  .kerasclr$module
}

# A submodule of the Python core, e.g. kerasclr_py_module("schedules").
kerasclr_py_module <- function(name) {
  kerasclr_py()
  if (is.null(.kerasclr[[name]])) {
    .kerasclr[[name]] <- py_call(reticulate::import(paste0("kerasclr.", name)))
  }
  .kerasclr[[name]]
}

# Saved models load after library(kerasclr): the kerasclr Python package is imported as soon
# as Python's `keras` is, and registers its Keras classes then (see
# inst/python/kerasclr/_registration.py, which also covers a `keras` imported later from
# Python). This is reticulate's module load hook: py_register_load_hook() (exported since
# reticulate 1.42); older versions (Debian's 1.28) have the same hook but their function is
# internal and starts Python, so the hook is set directly, as that function does. The hook
# runs after an import of `keras` on R's main thread; nothing is imported now unless
# `keras` already is.
register_on_keras_import <- function() {
  hook <- function() {
    tryCatch(kerasclr_py(), error = function(e) {
      warning("kerasclr could not register its Keras classes, so models saved with a kerasclr ",
              "schedule will not load: ", conditionMessage(e), call. = FALSE)
    })
    invisible()
  }
  if ("py_register_load_hook" %in% getNamespaceExports("reticulate")) {
    return(getExportedValue("reticulate", "py_register_load_hook")("keras", hook))
  }
  if (reticulate::py_available(initialize = FALSE) &&
      isTRUE(reticulate::py_eval("'keras' in __import__('sys').modules"))) {
    return(hook())
  }
  setHook("reticulate::keras::load", hook)
}

# Stops with one message saying what to run when Python, NumPy or Keras is unusable.
check_python_setup <- function(need_keras = FALSE) {
  if (!reticulate::py_available(initialize = TRUE)) stop(setup_problem("python"), call. = FALSE)
  python <- reticulate::py_config()$python
  if (!reticulate::py_module_available("numpy")) stop(setup_problem("numpy", python), call. = FALSE)
  problem <- numpy_problem(numpy_version())  # R/install.R
  if (!is.null(problem)) stop(problem, call. = FALSE)
  if (need_keras && !reticulate::py_module_available("keras")) {
    stop(setup_problem("keras", python), call. = FALSE)
  }
  invisible(TRUE)
}

# The message for a missing piece of the Python side ("python", "numpy", "keras" or
# "old_keras"), with what to run; shared by check_python_setup() and kerasclr_sitrep().
setup_problem <- function(missing, python = NULL, version = NULL) {
  fix <- "Run `kerasclr::install_kerasclr()` to create a Python environment for kerasclr."
  switch(missing,
         python = paste("Python is not available to reticulate.", fix),
         numpy = sprintf("The Python module `numpy` is not installed in %s. %s", python, fix),
         keras = sprintf("The Python module `keras` (>= %s) is not installed in %s. %s",
                         KERAS_MIN_VERSION, python, fix),
         old_keras = sprintf("Keras %s is too old: kerasclr needs Keras >= %s. %s", version,
                             KERAS_MIN_VERSION, fix))
}

numpy_version <- function() {
  version <- tryCatch(reticulate::py_config()$numpy$version, error = function(e) NULL)
  if (is.null(version)) return(NA)
  numeric_version(as.character(version), strict = FALSE)
}

# The Python `keras` module (Keras 3), imported once.
keras_py <- function() {
  if (is.null(.kerasclr$keras)) {
    check_python_setup(need_keras = TRUE)
    .kerasclr$keras <- py_call(reticulate::import("keras"))
  }
  .kerasclr$keras
}

# Evaluates `expr`, turning a Python exception into a plain R error with Python's message
# (no traceback): Python's messages name the argument, in Keras style.
py_call <- function(expr) {
  handler <- function(e) {
    # An R error inside an R generator function (R/data.R) is raised as it was.
    batch_error <- take_batch_error()
    if (!is.null(batch_error)) stop(batch_error)
    stop(py_error_message(e), call. = FALSE)
  }
  # reticulate >= 1.29 signals a python.builtin.Exception; older versions an Rcpp::exception.
  tryCatch(expr, python.builtin.Exception = handler, `Rcpp::exception` = handler)
}

py_error_message <- function(e) {
  value <- if (inherits(e, "python.builtin.object")) {
    tryCatch(reticulate::py_str(e$value %||% e), error = function(...) NULL)
  }
  msg <- if (is.null(value) || !nzchar(value)) conditionMessage(e) else value
  # reticulate prefixes "<class 'ValueError'>" or "ValueError: " and may append a traceback.
  msg <- sub("(?s)\n*(Detailed traceback|Run `reticulate::py_last_error\\(\\)`).*$", "", msg, perl = TRUE)
  msg <- sub("^(<class '[^']+'>|[A-Za-z.]*(Error|Exception)):?\\s*", "", msg)
  trimws(msg)
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# ---------------------------------------------------------------------------
# Argument checks: run in R, before any Python call. Messages say what must be
# true and what was seen: "`step_size` must be a positive number, not -1."
# ---------------------------------------------------------------------------

describe <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.function(x)) return("a function")
  if (length(x) == 0) return(sprintf("an empty %s vector", typeof(x)))
  if (is.list(x)) return(sprintf("a list of length %d", length(x)))
  if (length(x) > 1) return(sprintf("a %s vector of length %d", typeof(x), length(x)))
  if (is.character(x)) return(sprintf("\"%s\"", x))
  if (is.numeric(x) || is.logical(x)) return(format(x))
  sprintf("an object of class %s", class(x)[1])
}

arg_error <- function(name, must, x) {
  stop(sprintf("`%s` must be %s, not %s.", name, must, describe(x)), call. = FALSE)
}

check_number <- function(x, name, min = -Inf, max = Inf, min_inclusive = TRUE,
                         integer = FALSE, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(invisible(NULL))
  what <- if (integer) "a whole number" else "a number"
  if (is.finite(min) && is.finite(max)) {
    what <- sprintf("%s between %s and %s", what, format(min), format(max))
  } else if (is.finite(min)) {
    what <- if (min == 0 && !min_inclusive) sprintf("a positive %s", sub("^a ", "", what))
            else sprintf("%s %s %s", what, if (min_inclusive) ">=" else ">", format(min))
  }
  ok <- is.numeric(x) && length(x) == 1 && !is.na(x) && is.finite(x) &&
    (if (min_inclusive) x >= min else x > min) && x <= max &&
    (!integer || x == round(x))
  if (!ok) arg_error(name, what, x)
  invisible(x)
}

check_choice <- function(x, name, choices) {
  if (!(is.character(x) && length(x) == 1 && !is.na(x) && x %in% choices)) {
    arg_error(name, paste0("one of ", paste0("\"", choices, "\"", collapse = ", ")), x)
  }
  invisible(x)
}

check_flag <- function(x, name) {
  if (!(is.logical(x) && length(x) == 1 && !is.na(x))) arg_error(name, "TRUE or FALSE", x)
  invisible(x)
}

check_function <- function(x, name, null_ok = TRUE) {
  if (is.null(x) && null_ok) return(invisible(NULL))
  if (!is.function(x)) arg_error(name, "a function", x)
  invisible(x)
}

# A non-empty numeric vector of finite values in [0, max] (training steps, a schedule).
check_nonnegative_vector <- function(x, name, max = Inf, hint = "") {
  if (!is.numeric(x) || length(x) == 0) arg_error(name, "a non-empty numeric vector", x)
  if (anyNA(x)) stop(sprintf("`%s` must not contain NA values.", name), call. = FALSE)
  # min() and max() scan without allocating (is.finite(x) would allocate a vector of n).
  lowest <- min(x)
  highest <- max(x)
  if (!is.finite(lowest) || !is.finite(highest)) {
    stop(sprintf("`%s` must contain only finite values.", name), call. = FALSE)
  }
  if (lowest < 0) {
    stop(sprintf("`%s` must be >= 0%s, not %s.", name, hint, format(lowest)), call. = FALSE)
  }
  if (highest > max) {
    stop(sprintf("`%s` must be <= %s, not %s.", name, format(max), format(highest)), call. = FALSE)
  }
  invisible(x)
}

as_py_int <- function(x) if (is.null(x)) NULL else as.integer(x)
