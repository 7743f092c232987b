# Skips a test when Python, NumPy or Keras is not there, so that the R argument checks are
# tested without Python. With KERASCLR_REQUIRE_PYTHON=true (the test script and CI) a missing
# Python side is a failure instead: a skipped test proves nothing.
python_problem <- function(need_keras = TRUE) {
  tryCatch({
    kerasclr:::check_python_setup(need_keras = need_keras)
    NULL
  }, error = function(e) conditionMessage(e))
}

skip_or_fail <- function(problem) {
  if (is.null(problem)) return(invisible(TRUE))
  if (identical(Sys.getenv("KERASCLR_REQUIRE_PYTHON"), "true")) {
    testthat::fail(paste("The Python side is required (KERASCLR_REQUIRE_PYTHON=true):", problem))
  }
  testthat::skip(problem)
}

skip_if_no_python <- function() skip_or_fail(python_problem(need_keras = FALSE))
skip_if_no_keras <- function() skip_or_fail(python_problem(need_keras = TRUE))

# The Python `keras` module for tests that drive Keras directly (`model$fit(...)`).
keras_for_tests <- function() {
  skip_if_no_keras()
  reticulate::import("keras")
}

# The Python `tf_keras` module (Keras 2, what the old keras R package uses), for the tests
# of that path: models built through reticulate, as the old package builds them.
tf_keras_for_tests <- function() {
  skip_if_no_keras()
  if (!reticulate::py_module_available("tf_keras")) {
    skip_or_fail("The Python module `tf_keras` (pip install tf-keras) is not installed.")
  }
  reticulate::import("tf_keras")
}

# Every model, optimizer and metric variable, as R arrays (bitwise comparable with
# identical(); float32 -> double is exact).
model_state <- function(model) {
  kerasclr:::kerasclr_py_module("state")$state_arrays(model)
}
