# Keras 2 models (tf_keras), built through reticulate as the old keras R package builds them
# (its optimizer_sgd() is tf_keras$optimizers$SGD, and so on), trained on R data: the
# callbacks and lr_range_test() work with no flag, checked against what the R functions
# compute and a hand-computed SGD update (helper-reference.R).

k2_model <- function(tf_keras, optimizer, units = 1L, inputs = 3L, loss = "mse") {
  tf_keras$utils$set_random_seed(1L)
  model <- tf_keras$Sequential(list(tf_keras$Input(shape = list(inputs)),
                                    tf_keras$layers$Dense(units)))
  model$compile(optimizer = optimizer, loss = loss)
  model
}

regression_data <- function(n = 12) {
  set.seed(3)
  x <- matrix(rnorm(n * 3), ncol = 3)
  list(x = x, y = x %*% c(1, -2, 0.5) + 0.1)
}

# Class labels as R users have them: integers (0-based, as Keras counts), as a 1-d array,
# which is what the old keras package's keras_array() makes of an integer vector.
class_data <- function(n = 96) {
  set.seed(4)
  x <- matrix(rnorm(n * 4), ncol = 4)
  list(x = x, y = as.array(as.integer(max.col(x[, 1:3])) - 1L))
}

# An endless Python generator of batches, what the old package's fit_generator() is given.
py_batches <- function(x, y, size) {
  py <- reticulate::py_run_string(paste(
    "def batches(x, y, size):",
    "    while True:",
    "        for i in range(0, len(x), size):",
    "            yield x[i:i + size], y[i:i + size]",
    sep = "\n"))
  py$batches(reticulate::np_array(x, dtype = "float32"), reticulate::np_array(y, dtype = "float32"),
             as.integer(size))
}

test_that("callback_cyclic_lr() cycles the rate and momentum of a Keras 2 SGD(momentum =)", {
  tf_keras <- tf_keras_for_tests()
  d <- regression_data()
  model <- k2_model(tf_keras, tf_keras$optimizers$SGD(learning_rate = 0.5, momentum = 0.9))
  w0 <- lapply(model$get_weights(), as.numeric)
  cb <- callback_cyclic_lr(base_lr = 0.01, max_lr = 0.05, step_size = 2, momentum = c(0.95, 0.8))
  h <- model$fit(d$x, d$y, batch_size = 4L, epochs = 2L, shuffle = FALSE, verbose = 0L,
                 callbacks = list(cb))
  lr <- cyclic_lr(0:5, base_lr = 0.01, max_lr = 0.05, step_size = 2, momentum = c(0.95, 0.8))
  df <- as.data.frame(cb)
  expect_equal(df$iteration, 0:5)
  expect_equal(df$learning_rate, as.numeric(lr), tolerance = float32)
  expect_equal(df$momentum, attr(lr, "momentum"), tolerance = float32)
  ref <- sgd_reference(d$x, d$y, w0[[1]], w0[[2]], lr, attr(lr, "momentum"), batch_size = 4)
  expect_equal(as.numeric(model$get_weights()[[1]]), ref$w, tolerance = 1e-5)
  expect_equal(as.numeric(model$get_weights()[[2]]), ref$b, tolerance = 1e-5)
  expect_equal(df$loss, ref$losses, tolerance = 1e-5)
  expect_equal(unlist(h$history$learning_rate), df$learning_rate[c(3, 6)], tolerance = float32)
  expect_equal(model$optimizer$get_config()$momentum, 0.9)  # its own value, after fit()
})

test_that("callback_one_cycle() drives a Keras 2 Adam on R integer class labels", {
  tf_keras <- tf_keras_for_tests()
  d <- class_data()
  model <- k2_model(tf_keras, tf_keras$optimizers$Adam(), units = 3L, inputs = 4L,
                    loss = "sparse_categorical_crossentropy")
  cb <- callback_one_cycle(max_lr = 0.01, momentum = c(0.95, 0.85))
  model$fit(d$x, d$y, batch_size = 32L, epochs = 3L, verbose = 0L, callbacks = list(cb))
  want <- one_cycle_lr(9, max_lr = 0.01)
  df <- as.data.frame(cb)
  expect_equal(df$learning_rate, as.numeric(want), tolerance = float32)
  expect_equal(df$momentum, attr(want, "momentum"), tolerance = float32)  # Adam's beta_1
  expect_true(all(is.finite(df$loss)))
  pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_invisible(plot(cb))
})

test_that("a generator with steps_per_epoch (what fit_generator() passes) and an R scale_fn", {
  tf_keras <- tf_keras_for_tests()
  d <- regression_data()
  gen <- py_batches(d$x, d$y, 4)
  model <- k2_model(tf_keras, tf_keras$optimizers$SGD(learning_rate = 0.5, momentum = 0.9))
  w0 <- lapply(model$get_weights(), as.numeric)
  calls <- 0
  scale <- function(cycle) {
    calls <<- calls + 1
    1 / cycle
  }
  cb <- callback_cyclic_lr(base_lr = 0.01, max_lr = 0.05, step_size = 1, scale_fn = scale,
                           momentum = c(0.95, 0.8))
  model$fit(gen, steps_per_epoch = 3L, epochs = 2L, verbose = 0L, callbacks = list(cb))
  expect_gte(calls, 1)
  lr <- cyclic_lr(0:5, base_lr = 0.01, max_lr = 0.05, step_size = 1,
                  scale_fn = function(cycle) 1 / cycle, momentum = c(0.95, 0.8))
  df <- as.data.frame(cb)
  expect_equal(df$learning_rate, as.numeric(lr), tolerance = float32)
  ref <- sgd_reference(d$x, d$y, w0[[1]], w0[[2]], lr, attr(lr, "momentum"), batch_size = 4)
  expect_equal(as.numeric(model$get_weights()[[1]]), ref$w, tolerance = 1e-5)
})

test_that("lr_range_test() takes a compiled Keras 2 model and R data, and restores it", {
  tf_keras <- tf_keras_for_tests()
  d <- class_data()
  for (optimizer in list(tf_keras$optimizers$SGD(learning_rate = 0.01, momentum = 0.9),
                         tf_keras$optimizers$legacy$Adam())) {
    model <- k2_model(tf_keras, optimizer, units = 3L, inputs = 4L,
                      loss = "sparse_categorical_crossentropy")
    model$fit(d$x, d$y, batch_size = 16L, verbose = 0L)
    before <- model_state(model)
    res <- lr_range_test(model, d$x, d$y, start_lr = 1e-4, end_lr = 10, num_iter = 20,
                         batch_size = 16, verbose = FALSE)
    expect_s3_class(res, "lr_range_test")
    expect_equal(res$history$lr, 1e-4 * (1e5)^((seq_len(nrow(res$history)) - 1) / 19),
                 tolerance = 1e-12)
    expect_true(all(is.finite(res$lr_range)))
    after <- model_state(model)
    expect_identical(names(after), names(before))
    for (k in names(before)) expect_identical(after[[k]], before[[k]], label = k)
  }
})

test_that("lr_range_test() on Keras 2 takes a Python generator and a tf.data dataset", {
  tf_keras <- tf_keras_for_tests()
  d <- regression_data(48)
  x32 <- reticulate::np_array(d$x, dtype = "float32")
  y32 <- reticulate::np_array(d$y, dtype = "float32")
  model <- k2_model(tf_keras, tf_keras$optimizers$SGD(learning_rate = 0.01, momentum = 0.9))
  model$fit(d$x, d$y, batch_size = 16L, verbose = 0L)
  before <- model_state(model)
  res <- lr_range_test(model, py_batches(d$x, d$y, 16), num_iter = 10, verbose = FALSE)
  expect_identical(res$runs$steps, 10L)
  tf <- reticulate::import("tensorflow")
  dataset <- tf$data$Dataset$from_tensor_slices(reticulate::tuple(x32, y32))$batch(16L)
  res <- lr_range_test(model, dataset, num_iter = 10, verbose = FALSE)
  expect_identical(res$runs$steps, 10L)  # 3 batches per pass, cycled
  after <- model_state(model)
  for (k in names(before)) expect_identical(after[[k]], before[[k]], label = k)
})

test_that("an uncompiled Keras 2 model is an R error before training", {
  tf_keras <- tf_keras_for_tests()
  d <- regression_data()
  model <- tf_keras$Sequential(list(tf_keras$Input(shape = list(3L)), tf_keras$layers$Dense(1L)))
  expect_error(lr_range_test(model, d$x, d$y), "`model` must be a compiled Keras model: call")
})

test_that("a Keras 2 optimizer refuses learning_rate_schedule_*() with what to use instead", {
  tf_keras <- tf_keras_for_tests()
  expect_error(
    tf_keras$optimizers$SGD(learning_rate = learning_rate_schedule_cyclic(step_size = 4)),
    "Keras 2 \\(tf_keras\\) optimizer cannot use one.*callback_cyclic_lr\\(\\)")
  expect_error(
    tf_keras$optimizers$Adam(learning_rate = learning_rate_schedule_one_cycle(10, max_lr = 0.1)),
    "callback_one_cycle\\(\\)")
})
