# The schedule objects inside Keras: equal to the R vectors, and driving real SGD updates
# that match updates computed by hand. Run on every backend by scripts/test.sh.

schedule_values <- function(schedule, steps) {
  keras <- keras_for_tests()
  values <- keras$ops$convert_to_numpy(schedule(keras$ops$convert_to_tensor(steps, dtype = "int32")))
  as.numeric(values)
}

# The schedules compute in float32: near a tiny rate (the end of a one-cycle, a tail) the
# relative error of a float32 difference is large, so the error is measured relative to
# the schedule's peak: a few float32 ulps of the largest rate.
max_error_of_peak <- function(actual, expected) max(abs(as.numeric(actual) - expected)) / max(expected)

test_that("learning_rate_schedule_cyclic() equals cyclic_lr() at every step", {
  keras_for_tests()
  steps <- 0:2999
  cases <- list(
    list(base_lr = 1e-4, max_lr = 1e-2, step_size = 250),
    list(base_lr = 1e-4, max_lr = 1e-2, step_size = 250, mode = "triangular2", tail = 40),
    list(base_lr = 1e-5, max_lr = 1e-3, step_size = 100, mode = "exp_range", gamma = 0.999),
    list(base_lr = 1e-5, max_lr = 1e-3, step_size = 100, mode = "sinus"),
    list(base_lr = 1e-5, max_lr = 1e-3, step_size = 100, mode = "halfcosine"),
    list(step_size_up = 50, step_size_down = 150, tail = 30, tail_scope = "schedule",
         total_iterations = 3000)
  )
  for (args in cases) {
    schedule <- do.call(learning_rate_schedule_cyclic, args)
    expected <- do.call(cyclic_lr, c(list(steps), args))
    expect_lte(max_error_of_peak(schedule_values(schedule, steps), expected), 1e-6)
  }
})

test_that("learning_rate_schedule_one_cycle() equals one_cycle_lr() at every step", {
  keras_for_tests()
  cases <- list(
    list(max_lr = 0.1),
    list(max_lr = 0.02, pct_start = 0.4, anneal_strategy = "linear", three_phase = TRUE),
    list(max_lr = 0.1, preset = "fastai")
  )
  for (args in cases) {
    schedule <- do.call(learning_rate_schedule_one_cycle, c(list(total_iterations = 500), args))
    expected <- do.call(one_cycle_lr, c(list(total_iterations = 500), args))
    expect_lte(max_error_of_peak(schedule_values(schedule, 0:499), as.numeric(expected)), 1e-6)
  }
  # After the last step the final rate is held.
  schedule <- learning_rate_schedule_one_cycle(total_iterations = 100, max_lr = 0.1)
  expect_equal(schedule_values(schedule, c(99L, 150L)), rep(0.1 / 25 / 1e4, 2), tolerance = 1e-6)
})

test_that("a Python scale_fn runs in the graph; it equals the same R function on vectors", {
  keras_for_tests()
  inverse <- reticulate::py_eval("lambda cycle: 1.0 / cycle")
  schedule <- learning_rate_schedule_cyclic(base_lr = 1e-4, max_lr = 1e-2, step_size = 50,
                                            scale_fn = inverse)
  expected <- cyclic_lr(0:999, base_lr = 1e-4, max_lr = 1e-2, step_size = 50,
                        scale_fn = function(cycle) 1 / cycle)
  expect_lte(max_error_of_peak(schedule_values(schedule, 0:999), as.numeric(expected)), 1e-6)
})

test_that("the schedule object is a Keras LearningRateSchedule with its arguments as config", {
  keras <- keras_for_tests()
  schedule <- learning_rate_schedule_cyclic(base_lr = 1e-3, max_lr = 1e-2, step_size = 20, tail = 5)
  builtins <- reticulate::import_builtins()
  expect_true(builtins$isinstance(schedule, keras$optimizers$schedules$LearningRateSchedule))
  config <- schedule$get_config()
  expect_equal(config[c("base_lr", "max_lr", "step_size", "tail")],
               list(base_lr = 1e-3, max_lr = 1e-2, step_size = 20, tail = 5L))
  expect_null(config$step_size_up)  # not supplied: the Python default
})

test_that("SGD with a cyclic schedule makes the updates computed by hand", {
  keras <- keras_for_tests()
  np <- reticulate::import("numpy", convert = FALSE)
  x <- matrix(c(1, 2, -1, 0.5, 0, 1, 2, -1), ncol = 2)
  y <- matrix(c(1, -1, 2, 0.5), ncol = 1)
  w0 <- matrix(c(0.3, -0.2), ncol = 1)
  b0 <- 0.1
  base_lr <- 0.01
  max_lr <- 0.1

  model <- keras$Sequential(list(keras$Input(shape = list(2L)), keras$layers$Dense(1L)))
  model$set_weights(list(np$array(w0, dtype = "float32"), np$array(b0, dtype = "float32")$reshape(1L)))
  schedule <- learning_rate_schedule_cyclic(base_lr = base_lr, max_lr = max_lr, step_size = 2)
  model$compile(optimizer = keras$optimizers$SGD(learning_rate = schedule), loss = "mse")
  steps <- 5L
  # One full batch per epoch: `steps` updates, at schedule steps 0, 1, ..., steps - 1.
  model$fit(np$array(x, dtype = "float32"), np$array(y, dtype = "float32"), batch_size = 4L,
            epochs = steps, shuffle = FALSE, verbose = 0L)

  # Plain gradient descent on the mean squared error, in double precision.
  lr <- cyclic_lr(0:(steps - 1), base_lr = base_lr, max_lr = max_lr, step_size = 2)
  expect_equal(as.numeric(lr), c(0.01, 0.055, 0.1, 0.055, 0.01))
  w <- w0
  b <- b0
  for (k in seq_len(steps)) {
    residual <- x %*% w + b - y
    w <- w - lr[[k]] * 2 / nrow(x) * crossprod(x, residual)
    b <- b - lr[[k]] * 2 / nrow(x) * sum(residual)
  }
  weights <- model$get_weights()
  expect_equal(as.numeric(weights[[1]]), as.numeric(w), tolerance = 1e-5)
  expect_equal(as.numeric(weights[[2]]), b, tolerance = 1e-5)
  expect_equal(as.integer(keras$ops$convert_to_numpy(model$optimizer$iterations)), steps)

  # The same run at a constant base_lr ends elsewhere: the schedule made a difference.
  w_constant <- w0
  b_constant <- b0
  for (k in seq_len(steps)) {
    residual <- x %*% w_constant + b_constant - y
    w_constant <- w_constant - base_lr * 2 / nrow(x) * crossprod(x, residual)
    b_constant <- b_constant - base_lr * 2 / nrow(x) * sum(residual)
  }
  expect_gt(max(abs(as.numeric(weights[[1]]) - as.numeric(w_constant))), 1e-2)
})

test_that("a model trains with the one-cycle schedule and reports its learning rate", {
  keras <- keras_for_tests()
  np <- reticulate::import("numpy", convert = FALSE)
  set.seed(1)
  x <- matrix(stats::rnorm(64), ncol = 4)
  y <- x %*% c(1, -2, 0.5, 0) + 0.1
  model <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(1L)))
  schedule <- learning_rate_schedule_one_cycle(total_iterations = 12, max_lr = 0.05)
  model$compile(optimizer = keras$optimizers$SGD(learning_rate = schedule), loss = "mse")
  history <- model$fit(np$array(x, dtype = "float32"), np$array(y, dtype = "float32"),
                       batch_size = 4L, epochs = 2L, shuffle = FALSE, verbose = 0L)
  losses <- unlist(history$history$loss)
  expect_length(losses, 2)
  expect_true(all(is.finite(losses)))
  expect_lt(losses[[2]], losses[[1]])
  # 8 steps done: the optimizer's learning rate is now the schedule at step 8.
  lr_now <- as.numeric(keras$ops$convert_to_numpy(model$optimizer$learning_rate))
  expect_equal(lr_now, one_cycle_lr(12, max_lr = 0.05)[[9]], tolerance = 1e-6)
})
