# Saved models reload in a fresh R session after library(kerasclr): the kerasclr Python
# package is imported (and registers its Keras classes) as soon as Python's keras is
# (R/python.R register_on_keras_import(), inst/python/kerasclr/_registration.py). The
# reloaded model goes on training exactly as an uninterrupted run: same step counter,
# bitwise the same weights.

# Trains a model compiled with `optimizer` for 8 steps on R data, saves it, then trains it 8
# more steps in this session (the uninterrupted run). Returns the file and the reference.
saved_and_continued <- function(keras, optimizer, dir, name) {
  keras$utils$set_random_seed(7L)
  model <- keras$Sequential(list(keras$Input(shape = list(3L)),
                                 keras$layers$Dense(4L, activation = "tanh"),
                                 keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer, loss = "mse")
  set.seed(11)
  x <- matrix(rnorm(48), ncol = 3)
  y <- x %*% c(1, -2, 0.5) + 0.3  # a 1-column matrix (Keras takes no R vector)
  model$fit(x, y, batch_size = 4L, epochs = 2L, shuffle = FALSE, verbose = 0L)  # steps 0..7
  path <- file.path(dir, paste0(name, ".keras"))
  model$save(path)
  model$fit(x, y, batch_size = 4L, epochs = 2L, shuffle = FALSE, verbose = 0L)  # steps 8..15
  list(path = path, weights = model$get_weights(), data = list(x = x, y = y))
}

# A fresh R session that loads every model and trains it 8 more steps; `first` comes first.
continue_in_fresh_r <- function(saved, out, first = "library(kerasclr)",
                                then = "keras <- reticulate::import('keras')") {
  run_fresh_r(c(
    first, then,
    sprintf("saved <- readRDS(%s)", deparse(out$input)),
    "res <- lapply(saved, function(s) {",
    "  model <- keras$saving$load_model(s$path)",
    "  iterations <- function() as.integer(keras$ops$convert_to_numpy(model$optimizer$iterations))",
    "  start <- iterations()",
    "  model$fit(s$data$x, s$data$y, batch_size = 4L, epochs = 2L, shuffle = FALSE, verbose = 0L)",
    "  list(start = start, end = iterations(), weights = model$get_weights(),",
    "       schedule = class(model$optimizer$`_learning_rate`)[1])",
    "})",
    sprintf("saveRDS(res, %s)", deparse(out$output)),
    "cat('DONE\\n')"
  ))
}

test_that("a model with a kerasclr schedule loads in a fresh R session and continues exactly", {
  keras <- keras_for_tests()
  dir <- withr::local_tempdir()
  saved <- list(
    cyclic = saved_and_continued(
      keras, keras$optimizers$SGD(
        learning_rate = learning_rate_schedule_cyclic(base_lr = 0.01, max_lr = 0.1, step_size = 3,
                                                      mode = "triangular2", tail = 1),
        momentum = 0.9),
      dir, "cyclic"),
    one_cycle = saved_and_continued(
      keras, keras$optimizers$Adam(
        learning_rate = learning_rate_schedule_one_cycle(total_iterations = 20, max_lr = 0.1,
                                                         three_phase = TRUE)),
      dir, "one_cycle")
  )
  files <- list(input = file.path(dir, "saved.rds"), output = file.path(dir, "out.rds"))
  saveRDS(lapply(saved, `[`, c("path", "data")), files$input)

  check <- function(out) {
    expect_true("DONE" %in% out, label = paste(tail(out, 20), collapse = "\n"))
    res <- readRDS(files$output)
    for (kind in names(saved)) {
      expect_identical(res[[kind]]$start, 8L)
      expect_identical(res[[kind]]$end, 16L)
      expect_identical(res[[kind]]$weights, saved[[kind]]$weights, label = kind)
    }
    expect_identical(res$cyclic$schedule, "kerasclr.schedules.CyclicSchedule")
    expect_identical(res$one_cycle$schedule, "kerasclr.schedules.OneCycleSchedule")
    unlink(files$output)
  }
  # library(kerasclr) first, then keras imported: reticulate's load hook registers the classes.
  check(continue_in_fresh_r(saved, files))
  # keras imported first, then library(kerasclr): registered at once.
  check(continue_in_fresh_r(saved, files, first = "keras <- reticulate::import('keras')",
                            then = "library(kerasclr)"))
  # Without library(kerasclr), Keras cannot find the class: what the hook is for.
  out <- continue_in_fresh_r(saved, files, first = "", then = "keras <- reticulate::import('keras')")
  expect_false("DONE" %in% out)
  # (reticulate 1.28 shortens the middle of long Python messages.)
  out <- paste(out, collapse = "\n")
  expect_match(out, "Make sure custom classes and functions are decorated", fixed = TRUE)
  expect_match(out, "'registered_name': 'kerasclr>CyclicSchedule'", fixed = TRUE)
})
