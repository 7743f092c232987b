# lr_range_test() from R: argument errors (no Python needed), a run through reticulate on a
# tiny model with exact restoration, interrupts, and the print/plot/as.data.frame methods.

not_a_model <- structure(list(), class = "not_a_model")
x4 <- matrix(seq_len(40) / 40, ncol = 4)
y4 <- rowSums(x4)

test_that("bad arguments give R errors naming the argument, before any training", {
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, start_lr = 0))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, start_lr = -1e-3))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, end_lr = Inf))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, start_lr = 1, end_lr = 0.1))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, start_lr = 1, end_lr = 1))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, num_iter = 4))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, num_iter = 10.5))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, step_mode = "cos"))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, batch_size = 0))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, diverge_threshold = 1))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, smooth = 1))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, weight_decay = c(0, -1)))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, momentum = 1))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, restore = NA))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4[1:7]))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, list(x4, x4[1:5, ]), y4))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4,
                                              validation_data = list(x4, y4[1:3])))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4))
})

# ---------------------------------------------------------------------------
# With Keras
# ---------------------------------------------------------------------------

tiny_model <- function(keras, optimizer = NULL) {
  keras$utils$set_random_seed(1L)
  model <- keras$Sequential(list(keras$Input(shape = list(4L)),
                                 keras$layers$Dense(4L, activation = "tanh"),
                                 keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer %||% keras$optimizers$SGD(learning_rate = 0.01, momentum = 0.9),
                loss = "mse")
  model
}

tiny_data <- function(n = 64) {
  set.seed(3)
  x <- matrix(rnorm(n * 4), ncol = 4)
  list(x = x, y = x %*% c(1, 2, -1, 0.5) + 0.3)
}

test_that("an uncompiled model is an R error before training", {
  keras <- keras_for_tests()
  model <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(1L)))
  expect_snapshot(error = TRUE, lr_range_test(model, x4, y4))
})

test_that("a run returns the documented object and leaves the model exactly as found", {
  keras <- keras_for_tests()
  d <- tiny_data()
  model <- tiny_model(keras)
  model$fit(d$x, d$y, batch_size = 16L, verbose = 0L)
  kerasclr:::kerasclr_py()  # so that kerasclr.state is importable
  before <- model_state(model)
  res <- lr_range_test(model, d$x, d$y, start_lr = 1e-4, end_lr = 1, num_iter = 12,
                       batch_size = 16, verbose = FALSE)
  expect_s3_class(res, "lr_range_test")
  expect_named(res$history, c("lr", "loss", "smoothed_loss"))
  expect_equal(nrow(res$history), res$runs$steps[1])
  expect_equal(res$history$lr, 1e-4 * (1e4)^((seq_len(nrow(res$history)) - 1) / 11),
               tolerance = 1e-12)
  expect_named(res$suggestions, c("valley", "steep", "minimum", "slide"))
  expect_named(res$lr_range, c("base_lr", "max_lr"))
  # The loss fell, so the turn-up rate is the lr of the lowest smoothed loss (ten times the
  # `minimum` suggestion) and max_lr a sixth of it (kerasclr.suggestions.lr_range_rule).
  suggestions <- reticulate::import("kerasclr.suggestions")
  expect_true(suggestions$curve_fell(res$history$lr, res$history$smoothed_loss, 12L))
  expect_equal(res$lr_range[["max_lr"]], 10 * res$suggestions[["minimum"]] / 6)
  expect_equal(res$lr_range[["base_lr"]], res$lr_range[["max_lr"]] / 4)
  expect_true(res$runs$stop_reason %in% c("completed", "diverged"))
  after <- model_state(model)
  expect_identical(names(after), names(before))
  for (k in names(before)) expect_identical(after[[k]], before[[k]], label = k)
  expect_identical(as.data.frame(res), res$history)
})

test_that("a grid gives one curve per value, with validation loss", {
  keras <- keras_for_tests()
  d <- tiny_data()
  model <- tiny_model(keras)
  res <- lr_range_test(model, d$x, d$y, start_lr = 1e-4, end_lr = 1, num_iter = 8,
                       batch_size = 16, weight_decay = c(0, 0.01), momentum = c(0.5, 0.9),
                       validation_data = list(d$x[1:20, ], d$y[1:20, , drop = FALSE]), verbose = FALSE,
                       val_batches = 1, shuffle = FALSE)
  expect_named(res$history, c("lr", "loss", "smoothed_loss", "val_loss", "weight_decay", "momentum"))
  expect_equal(res$runs$weight_decay, c(0, 0, 0.01, 0.01))
  expect_equal(res$runs$momentum, c(0.5, 0.9, 0.5, 0.9))
  expect_equal(nrow(res$history), sum(res$runs$steps))
  # every run starts from the same state: the same loss on the first batch
  first <- !duplicated(res$history[c("weight_decay", "momentum")])
  expect_length(unique(res$history$loss[first]), 1)
  expect_true(res$best_run %in% 1:4)
  expect_equal(res$suggestions, unlist(res$runs[res$best_run, names(res$suggestions)]),
               ignore_attr = TRUE)
  expect_output(print(res), "4 runs")
  pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_identical(plot(res), res)
})

test_that("print() shows how the run ended and the suggestions", {
  keras <- keras_for_tests()
  d <- tiny_data()
  model <- tiny_model(keras)
  res <- lr_range_test(model, d$x, d$y, start_lr = 1e-3, end_lr = 1e4, num_iter = 30,
                       batch_size = 16, smooth = 0, verbose = FALSE)
  expect_equal(res$runs$stop_reason, "diverged")
  out <- capture.output(print(res))
  expect_match(out, "smoothed loss exceeded 5 x its minimum", all = FALSE)
  expect_match(out, "^  valley", all = FALSE)
  expect_match(out, "base_lr = .*max_lr = ", all = FALSE)
})

test_that("an error mid-run restores the model", {
  keras <- keras_for_tests()
  d <- tiny_data()
  model <- tiny_model(keras)
  model$fit(d$x, d$y, batch_size = 16L, verbose = 0L)
  before <- model_state(model)
  py <- reticulate::py_run_string(paste(
    "import keras",
    "class RaiseAt(keras.callbacks.Callback):",
    "    def on_train_batch_end(self, batch, logs=None):",
    "        if batch == 3: raise RuntimeError('boom')",
    sep = "\n"))
  expect_error(lr_range_test(model, d$x, d$y, num_iter = 10, batch_size = 16, verbose = FALSE,
                             callbacks = list(py$RaiseAt())), "boom")
  after <- model_state(model)
  for (k in names(before)) expect_identical(after[[k]], before[[k]], label = k)
})

test_that("a real R interrupt (Ctrl+C) mid-run restores the model", {
  skip_if_no_keras()
  # A SIGINT delivered while Python runs is handled by R and reticulate together; it runs in
  # a child R process so that, whatever happens there, this test run carries on.
  out <- run_fresh_r(c(
    "library(kerasclr)",
    "keras <- reticulate::import('keras')",
    "keras$utils$set_random_seed(1L)",
    "model <- keras$Sequential(list(keras$Input(shape = list(4L)),",
    "  keras$layers$Dense(4L, activation = 'tanh'), keras$layers$Dense(1L)))",
    "model$compile(optimizer = keras$optimizers$SGD(learning_rate = 0.01, momentum = 0.9), loss = 'mse')",
    "set.seed(3); x <- matrix(rnorm(256), ncol = 4); y <- x %*% c(1, 2, -1, 0.5) + 0.3",
    "model$fit(x, y, batch_size = 16L, verbose = 0L)",
    "state <- function() kerasclr:::kerasclr_py_module('state')$state_arrays(model)",
    "before <- state()",
    "py <- reticulate::py_run_string(paste(",
    "  'import keras, os, signal, time',",
    "  'class Interrupt(keras.callbacks.Callback):',",
    "  '    def on_train_batch_end(self, batch, logs=None):',",
    "  '        if batch == 3:',",
    "  '            os.kill(os.getpid(), signal.SIGINT)',",
    "  '            time.sleep(1)', sep = '\\n'))",
    "got <- tryCatch(lr_range_test(model, x, y, num_iter = 10, batch_size = 16, verbose = FALSE,",
    "  callbacks = list(py$Interrupt())), interrupt = function(e) 'interrupted')",
    "after <- state()",
    "cat('RESULT', identical(got, 'interrupted'),",
    "    all(vapply(names(before), function(k) identical(after[[k]], before[[k]]), TRUE)), '\\n')"
  ))
  expect_true(any(grepl("^RESULT TRUE TRUE", out)), label = paste(tail(out, 20), collapse = "\n"))
})

test_that("callback_cyclic_lr() and callback_one_cycle() find the field they use", {
  keras <- keras_for_tests()
  d <- tiny_data()
  res <- lr_range_test(tiny_model(keras), d$x, d$y, start_lr = 1e-4, end_lr = 1, num_iter = 20,
                       batch_size = 16, verbose = FALSE)
  expect_true(is.numeric(res$lr_range) && length(res$lr_range) == 2)
  expect_true(all(is.finite(res$lr_range)) && res$lr_range[1] < res$lr_range[2])
})

test_that("a one-shot generator that runs out ends the test with a warning", {
  keras <- keras_for_tests()
  d <- tiny_data(48)
  py <- reticulate::py_run_string(paste(
    "def three_batches(x, y):",
    "    for i in range(3):",
    "        yield x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)]",
    sep = "\n"))
  gen <- py$three_batches(reticulate::np_array(d$x, dtype = "float32"),
                          reticulate::np_array(d$y, dtype = "float32"))
  expect_warning(res <- lr_range_test(tiny_model(keras), gen, num_iter = 10, verbose = FALSE),
                 "data ran out")
  expect_identical(res$runs$stop_reason, "exhausted")
  expect_identical(res$runs$steps, 3L)
})

# ---------------------------------------------------------------------------
# R data as R users have it (R/data.R): each form gives bitwise the same curve as the NumPy
# arrays Keras takes natively, from the same starting state (the test restores the model).
# ---------------------------------------------------------------------------

range_curve <- function(model, x, y = NULL, ...) {
  res <- lr_range_test(model, x, y, start_lr = 1e-3, end_lr = 1, num_iter = 8, batch_size = 10,
                       shuffle = FALSE, verbose = FALSE, ...)
  res$history
}

class_data <- function() {
  set.seed(5)
  idx <- sample(nrow(iris), 40)
  list(df = iris[idx, 1:4], species = iris$Species[idx])
}

# A one-layer model of the 4 iris measurements.
iris_model <- function(keras, units, activation, optimizer, loss) {
  keras$utils$set_random_seed(2L)
  model <- keras$Sequential(list(keras$Input(shape = list(4L)),
                                 keras$layers$Dense(units, activation = activation)))
  model$compile(optimizer = optimizer, loss = loss)
  model
}

test_that("integer labels, factor labels and data frames give the curve of the NumPy arrays", {
  keras <- keras_for_tests()
  d <- class_data()
  model <- iris_model(keras, 3L, "softmax", keras$optimizers$SGD(momentum = 0.9),
                      "sparse_categorical_crossentropy")
  codes <- as.integer(d$species) - 1L
  reference <- range_curve(model, reticulate::np_array(as.matrix(d$df), dtype = "float32"),
                           reticulate::np_array(codes, dtype = "int32"))
  expect_true(all(is.finite(reference$loss)))
  expect_identical(range_curve(model, as.matrix(d$df), codes), reference)     # integer vector
  expect_identical(range_curve(model, as.matrix(d$df), d$species), reference) # factor
  expect_identical(range_curve(model, d$df, d$species), reference)            # data frame
  expect_identical(range_curve(model, d$df, d$species,
                               validation_data = list(d$df, d$species))$val_loss,
                   range_curve(model, as.matrix(d$df), codes,
                               validation_data = list(as.matrix(d$df), codes))$val_loss)
})

test_that("logical labels and inputs give the curve of 0/1 numbers", {
  keras <- keras_for_tests()
  d <- class_data()
  model <- iris_model(keras, 1L, "sigmoid", "adam", "binary_crossentropy")
  setosa <- d$species == "setosa"
  reference <- range_curve(model, as.matrix(d$df),
                           reticulate::np_array(as.numeric(setosa), dtype = "float32"))
  expect_identical(range_curve(model, as.matrix(d$df), setosa), reference)
  # Logical inputs are 0 and 1 too.
  wide <- as.matrix(d$df) > 3
  expect_identical(range_curve(model, wide, setosa), range_curve(model, wide * 1, setosa))
})

test_that("a list of two inputs, and a data frame naming them, feed a two-input model", {
  keras <- keras_for_tests()
  d <- class_data()
  keras$utils$set_random_seed(2L)
  a <- keras$Input(shape = list(3L), name = "petal")
  b <- keras$Input(shape = list(1L), name = "width")
  out <- keras$layers$Dense(1L)(keras$layers$Concatenate()(list(a, b)))
  model <- keras$Model(inputs = list(a, b), outputs = out)
  model$compile(optimizer = "sgd", loss = "mse")
  m <- as.matrix(d$df)
  y <- m[, 1] * 0.5
  np <- function(x) reticulate::np_array(x, dtype = "float32")
  reference <- range_curve(model, list(np(m[, 2:4]), np(m[, 1, drop = FALSE])), np(y))
  expect_true(all(is.finite(reference$loss)))
  expect_identical(range_curve(model, list(m[, 2:4], m[, 1]), y), reference)
  expect_identical(range_curve(model, list(width = m[, 1], petal = m[, 2:4]), y), reference)
  frame <- data.frame(width = m[, 1])
  frame$petal <- m[, 2:4]  # a matrix column
  expect_identical(range_curve(model, frame, y), reference)
})

test_that("an R generator function (as fit_generator() takes it) gives the curve of its batches", {
  keras <- keras_for_tests()
  d <- class_data()
  model <- iris_model(keras, 3L, "softmax", "sgd", "sparse_categorical_crossentropy")
  # The reference: a Python generator of the same batches, as NumPy arrays.
  py <- reticulate::py_run_string(paste(
    "def cycling(x, y):",
    "    i = 0",
    "    while True:",
    "        rows = slice((i % 4) * 10, (i % 4) * 10 + 10)",
    "        i += 1",
    "        yield x[rows], y[rows]",
    sep = "\n"))
  range_of <- function(x) {
    lr_range_test(model, x, start_lr = 1e-3, end_lr = 1, num_iter = 8, verbose = FALSE)
  }
  reference <- range_of(py$cycling(reticulate::np_array(as.matrix(d$df), dtype = "float32"),
                                   reticulate::np_array(as.integer(d$species) - 1L, dtype = "int32")))
  batch <- 0L
  batches <- function() {  # the same batches of 10, in order, cycling
    rows <- (batch %% 4L) * 10L + 1:10
    batch <<- batch + 1L
    list(d$df[rows, ], d$species[rows])
  }
  res <- range_of(batches)
  expect_identical(res$history, reference$history)
  expect_identical(res$runs$stop_reason, "completed")
  # An R error in the generator (here at its third batch, which TensorFlow asks for from
  # its own thread) stops the test with that error; the model is restored.
  before <- model_state(model)
  calls <- 0L
  failing <- function() {
    calls <<- calls + 1L
    if (calls == 3L) stop("the files are gone")
    batches()
  }
  expect_snapshot(error = TRUE, lr_range_test(model, failing, num_iter = 8, verbose = FALSE))
  after <- model_state(model)
  for (k in names(before)) expect_identical(after[[k]], before[[k]], label = k)
})

test_that("class_weight by factor level or class index weighs as per-sample weights do", {
  keras <- keras_for_tests()
  d <- class_data()
  model <- iris_model(keras, 3L, "softmax", "sgd", "sparse_categorical_crossentropy")
  weights <- c(setosa = 1, versicolor = 3, virginica = 0.5)
  reference <- range_curve(model, d$df, d$species,
                           sample_weight = unname(weights[as.character(d$species)]))
  expect_identical(range_curve(model, d$df, d$species, class_weight = weights), reference)
  expect_identical(range_curve(model, d$df, d$species,
                               class_weight = list("0" = 1, "1" = 3, "2" = 0.5)), reference)
  expect_false(identical(range_curve(model, d$df, d$species)$loss, reference$loss))
})
