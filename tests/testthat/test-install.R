# install_kerasclr(), kerasclr_sitrep() and the set-up messages. The messages are tested
# with injected versions (NumPy 2 with an old reticulate is not installed here).

test_that("install_kerasclr() chooses the pip requirements from backend and reticulate", {
  expect_equal(
    kerasclr:::kerasclr_python_packages("tensorflow", reticulate_version = package_version("1.28")),
    c("keras>=3.8", "numpy<2", "ml_dtypes<0.6", "tensorflow", "scikit-learn")
  )
  expect_equal(
    kerasclr:::kerasclr_python_packages(c("jax", "torch"), reticulate_version = package_version("1.36")),
    c("keras>=3.8", "numpy", "jax[cpu]", "torch", "scikit-learn")
  )
  # The default backend argument means TensorFlow only.
  expect_equal(kerasclr:::check_backends(c("tensorflow", "jax", "torch")), "tensorflow")
})

test_that("install_kerasclr() checks its arguments before creating anything", {
  expect_snapshot(error = TRUE, install_kerasclr(backend = "theano"))
  expect_snapshot(error = TRUE, install_kerasclr(envname = ""))
  expect_snapshot(error = TRUE, install_kerasclr(extra_packages = 1))
  expect_snapshot(error = TRUE, install_kerasclr(restart_session = NA))
})

test_that("NumPy 2 with reticulate < 1.36 gives a message that says what to run", {
  old <- package_version("1.28")
  expect_snapshot(cat(kerasclr:::numpy_problem("2.1.3", old)))
  expect_match(kerasclr:::numpy_problem("2.0.0", old), "install_kerasclr()", fixed = TRUE)
  expect_match(kerasclr:::numpy_problem("2.0.0", old), "numpy<2", fixed = TRUE)
  expect_null(kerasclr:::numpy_problem("1.26.4", old))
  expect_null(kerasclr:::numpy_problem("2.1.3", package_version("1.36.0")))
  expect_null(kerasclr:::numpy_problem(NA))
})

fake_probe <- function(...) {
  force(list(...))
  function() list(...)
}

test_that("the situation report lists the set-up and what to do", {
  fine <- kerasclr:::python_setup_info(
    fake_probe(python = "/venv/bin/python", numpy = "1.26.4", keras = "3.15.1", backend = "jax",
               backend_versions = list(tensorflow = NULL, jax = "0.7.1", torch = "2.13.0")),
    reticulate_version = package_version("1.28")
  )
  expect_length(fine$problems, 0)
  fine$reticulate_python <- ""
  fine$virtualenv <- TRUE
  expect_snapshot(kerasclr:::print_sitrep(fine))

  numpy2 <- kerasclr:::python_setup_info(
    fake_probe(python = "/venv/bin/python", numpy = "2.1.3", keras = "2.15.0", backend = "tensorflow",
               backend_versions = list(tensorflow = "2.15.0", jax = NULL, torch = NULL)),
    reticulate_version = package_version("1.28")
  )
  numpy2$reticulate_python <- "/venv/bin/python"
  numpy2$virtualenv <- FALSE
  expect_length(numpy2$problems, 2)
  expect_snapshot(kerasclr:::print_sitrep(numpy2))

  no_python <- kerasclr:::python_setup_info(fake_probe(), reticulate_version = package_version("1.36"))
  expect_match(no_python$problems, "Python is not available", fixed = TRUE)
  no_numpy <- kerasclr:::python_setup_info(fake_probe(python = "/usr/bin/python3"))
  expect_match(no_numpy$problems[1], "`numpy` is not installed in /usr/bin/python3", fixed = TRUE)
  expect_match(no_numpy$problems[2], "`keras` (>= 3.8) is not installed", fixed = TRUE)

  # The oldest supported Keras is 3.8 (scripts/test.sh runs the TensorFlow tests against it).
  keras_at <- function(version) {
    kerasclr:::python_setup_info(fake_probe(python = "/venv/bin/python", numpy = "1.26.4", keras = version),
                                 reticulate_version = package_version("1.36"))$problems
  }
  expect_match(keras_at("3.7.0"), "Keras 3.7.0 is too old: kerasclr needs Keras >= 3.8.", fixed = TRUE)
  expect_length(keras_at("3.8.0"), 0)
})

test_that("kerasclr_sitrep() reports this machine's Python", {
  skip_if_no_keras()
  out <- capture.output(info <- kerasclr_sitrep())
  expect_equal(info$python, reticulate::py_config()$python)
  expect_equal(info$numpy, as.character(reticulate::import("numpy")$`__version__`))
  expect_true(any(grepl(info$python, out, fixed = TRUE)))
  expect_true(any(grepl("All set", out, fixed = TRUE)))
})

test_that("loading kerasclr selects the r-kerasclr virtualenv without starting Python", {
  skip_on_cran()
  skip_if_not(reticulate::virtualenv_exists("r-kerasclr"), "no virtualenv r-kerasclr")
  rscript <- file.path(R.home("bin"), "Rscript")
  code <- paste(
    "library(kerasclr)",
    "started <- reticulate::py_available(initialize = FALSE)",
    "cat(started, normalizePath(reticulate::py_config()$python), sep = '|')",
    sep = "; "
  )
  out <- withr::with_envvar(
    c(RETICULATE_PYTHON = NA, R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep)),
    system2(rscript, c("--vanilla", "-e", shQuote(code)), stdout = TRUE, stderr = TRUE)
  )
  expected <- normalizePath(reticulate::virtualenv_python("r-kerasclr"))
  expect_equal(out[length(out)], paste("FALSE", expected, sep = "|"))
})
