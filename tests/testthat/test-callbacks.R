# callback_cyclic_lr() and callback_one_cycle(): argument checks in R (no Python needed),
# then training through reticulate, checked against the schedule the R functions compute
# and against a hand-computed SGD update.

tiny_model <- function(keras, optimizer) {
  keras$utils$set_random_seed(1L)
  model <- keras$Sequential(list(keras$Input(shape = list(3L)), keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer, loss = "mse")
  model
}

tiny_data <- function(n = 12) {
  set.seed(3)
  x <- matrix(rnorm(n * 3), ncol = 3)
  list(x = x, y = x %*% c(1, -2, 0.5) + 0.1)
}

test_that("bad arguments give R errors that name the argument, before any Python call", {
  expect_error(callback_cyclic_lr(step_size = -1), "`step_size` must be a positive number")
  expect_error(callback_cyclic_lr(base_lr = "a"), "`base_lr`")
  expect_error(callback_cyclic_lr(base_lr = 0.1, max_lr = 0.01), "`max_lr`")
  expect_error(callback_cyclic_lr(mode = "zigzag"), "`mode` must be one of")
  expect_error(callback_cyclic_lr(momentum = c(0.8, 0.9)), "`momentum`")
  expect_error(callback_cyclic_lr(momentum = 0.9), "`momentum`")
  expect_error(callback_cyclic_lr(schedule = c(0.1, NA)), "`schedule` must not contain NA")
  expect_error(callback_cyclic_lr(schedule = c(0.1, -0.2)), "`schedule` must be >= 0, not -0.2")
  expect_error(callback_cyclic_lr(schedule = "a"), "`schedule` must be a non-empty numeric")
  expect_error(callback_cyclic_lr(schedule = c(0.1, 0.2), max_lr = 1), "leave out `max_lr`")
  expect_error(callback_cyclic_lr(lr_range = 0.1), "`lr_range` must be")
  expect_error(callback_cyclic_lr(lr_range = c(0.1, 0.01)), "`lr_range` must be")
  expect_error(callback_cyclic_lr(lr_range = c(1e-4, 1e-2), base_lr = 1e-3), "not both")
  expect_error(callback_cyclic_lr(scale_fn = "x"), "`scale_fn` must be a function")
  expect_error(callback_cyclic_lr(0.001, 0.006, 10, "triangular", 1, NULL, NULL, 0, NULL, NULL,
                                  NULL, 5), "Arguments after `...` must be named")
  expect_error(callback_one_cycle(), "`max_lr` is required")
  expect_error(callback_one_cycle(max_lr = -1), "`max_lr`")
  expect_error(callback_one_cycle(0.1, total_iterations = 1), "`total_iterations`")
  expect_error(callback_one_cycle(0.1, anneal_strategy = "step"), "`anneal_strategy`")
  expect_error(callback_one_cycle(0.1, momentum = c(1.5, 0.8)), "`momentum`")
})

test_that("callback_cyclic_lr() follows cyclic_lr() and the hand-computed SGD update", {
  keras <- keras_for_tests()
  d <- tiny_data()
  model <- tiny_model(keras, keras$optimizers$SGD(learning_rate = 0.5, momentum = 0.9))
  w0 <- lapply(model$get_weights(), function(w) as.numeric(w))
  cb <- callback_cyclic_lr(base_lr = 0.01, max_lr = 0.05, step_size = 2,
                           momentum = c(0.95, 0.8))
  model$fit(d$x, d$y, batch_size = 4L, epochs = 2L, shuffle = FALSE, verbose = 0L,
            callbacks = list(cb))
  lr <- cyclic_lr(0:5, base_lr = 0.01, max_lr = 0.05, step_size = 2, momentum = c(0.95, 0.8))
  mom <- attr(lr, "momentum")
  df <- as.data.frame(cb)
  expect_equal(names(df)[1:5], c("epoch", "iteration", "learning_rate", "momentum", "loss"))
  expect_equal(df$iteration, 0:5)
  expect_equal(df$epoch, c(0L, 0L, 0L, 1L, 1L, 1L))
  expect_equal(df$learning_rate, as.numeric(lr), tolerance = float32)
  expect_equal(df$momentum, mom, tolerance = float32)

  # Hand-computed (helper-reference.R): Keras SGD with momentum, MSE loss.
  ref <- sgd_reference(d$x, d$y, w0[[1]], w0[[2]], lr, mom, batch_size = 4)
  weights <- model$get_weights()
  expect_equal(as.numeric(weights[[1]]), ref$w, tolerance = 1e-5)
  expect_equal(as.numeric(weights[[2]]), ref$b, tolerance = 1e-5)
  expect_equal(df$loss, ref$losses, tolerance = 1e-5)

  # The history accumulates over fits and rbind()s.
  model$fit(d$x, d$y, batch_size = 4L, epochs = 1L, verbose = 0L, callbacks = list(cb))
  df2 <- as.data.frame(cb)
  expect_equal(df2$iteration, 0:8)
  expect_equal(nrow(rbind(df, df2)), 15)
})

test_that("schedule = a cyclic_lr() vector drives the rate (and its momentum attribute)", {
  keras <- keras_for_tests()
  d <- tiny_data()
  model <- tiny_model(keras, keras$optimizers$SGD(learning_rate = 0.5, momentum = 0.9))
  lr <- cyclic_lr(0:3, base_lr = 0.01, max_lr = 0.05, step_size = 2, momentum = c(0.9, 0.7))
  cb <- callback_cyclic_lr(schedule = lr)
  h <- model$fit(d$x, d$y, batch_size = 4L, epochs = 2L, verbose = 0L, callbacks = list(cb))
  df <- as.data.frame(cb)
  expect_equal(df$learning_rate, c(as.numeric(lr), rep(lr[4], 2)), tolerance = float32)
  expect_equal(df$momentum, c(attr(lr, "momentum"), rep(attr(lr, "momentum")[4], 2)),
               tolerance = float32)
  expect_equal(unlist(h$history$learning_rate), df$learning_rate[c(3, 6)], tolerance = float32)
})

test_that("lr_range takes the bounds; both callbacks infer their length from the fit", {
  keras <- keras_for_tests()
  d <- tiny_data()
  res <- structure(list(lr_range = c(0.002, 0.02)), class = "lr_range_test")
  model <- tiny_model(keras, keras$optimizers$SGD(momentum = 0.9))
  cb <- callback_cyclic_lr(lr_range = res, step_size = 3)
  model$fit(d$x, d$y, batch_size = 4L, epochs = 2L, verbose = 0L, callbacks = list(cb))
  expect_equal(as.data.frame(cb)$learning_rate,
               as.numeric(cyclic_lr(0:5, base_lr = 0.002, max_lr = 0.02, step_size = 3)),
               tolerance = float32)
  # Without step_size, the fit is one whole cycle: 9 steps, 4.5 up and 4.5 down.
  model <- tiny_model(keras, keras$optimizers$SGD(momentum = 0.9))
  cb <- callback_cyclic_lr(lr_range = res)
  model$fit(d$x, d$y, batch_size = 4L, epochs = 3L, verbose = 0L, callbacks = list(cb))
  expect_equal(as.data.frame(cb)$learning_rate,
               as.numeric(cyclic_lr(0:8, base_lr = 0.002, max_lr = 0.02, step_size = 4.5)),
               tolerance = float32)

  model <- tiny_model(keras, keras$optimizers$Adam())
  cb <- callback_one_cycle(max_lr = res)
  model$fit(d$x, d$y, batch_size = 4L, epochs = 3L, verbose = 0L, callbacks = list(cb))
  want <- one_cycle_lr(9, max_lr = 0.02)
  df <- as.data.frame(cb)
  expect_equal(df$learning_rate, as.numeric(want), tolerance = float32)
  # By default the optimizer's own momentum (here beta_1) is left alone ...
  expect_true(all(is.na(df$momentum)))
  expect_equal(model$optimizer$beta_1, 0.9)
  # ... and momentum = c(high, low) cycles it.
  model <- tiny_model(keras, keras$optimizers$Adam())
  cb <- callback_one_cycle(max_lr = res, momentum = c(0.95, 0.85))
  model$fit(d$x, d$y, batch_size = 4L, epochs = 3L, verbose = 0L, callbacks = list(cb))
  expect_equal(as.data.frame(cb)$momentum, attr(want, "momentum"), tolerance = float32)
})

test_that("an R scale_fn is evaluated in R; plot() draws and restores par()", {
  keras <- keras_for_tests()
  d <- tiny_data()
  calls <- 0
  scale <- function(cycle) { calls <<- calls + 1; 1 / cycle }
  model <- tiny_model(keras, keras$optimizers$SGD())
  cb <- callback_cyclic_lr(base_lr = 0.01, max_lr = 0.05, step_size = 1, scale_fn = scale)
  model$fit(d$x, d$y, batch_size = 4L, epochs = 2L, verbose = 0L, callbacks = list(cb))
  expect_gte(calls, 1)
  expect_equal(as.data.frame(cb)$learning_rate,
               as.numeric(cyclic_lr(0:5, base_lr = 0.01, max_lr = 0.05, step_size = 1,
                                    scale_fn = function(cycle) 1 / cycle)), tolerance = float32)
  file <- tempfile(fileext = ".pdf")
  grDevices::pdf(file)
  old <- par(no.readonly = TRUE)
  expect_invisible(plot(cb))
  expect_equal(par("mfrow"), old$mfrow)
  grDevices::dev.off()
  expect_true(file.size(file) > 0)
})

test_that("a learning-rate schedule or a momentum-free optimizer stops fit() at the start", {
  keras <- keras_for_tests()
  d <- tiny_data()
  schedule <- keras$optimizers$schedules$ExponentialDecay(0.1, 10L, 0.5)
  model <- tiny_model(keras, keras$optimizers$SGD(learning_rate = schedule))
  expect_error(model$fit(d$x, d$y, verbose = 0L, callbacks = list(callback_cyclic_lr())),
               "LearningRateSchedule")
  model <- tiny_model(keras, keras$optimizers$SGD())
  expect_error(model$fit(d$x, d$y, verbose = 0L,
                         callbacks = list(callback_cyclic_lr(momentum = c(0.95, 0.85)))),
               "momentum=0")
})
