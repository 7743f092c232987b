# fit_one_cycle(): the range test, then one-cycle training from its answer, with R data.

test_that("bad arguments give R errors naming the argument, before any training", {
  model <- structure(list(), class = "not_a_model")
  x <- matrix(0, 4, 2)
  expect_error(fit_one_cycle(model, x, 1:4, epochs = 0), "^`epochs` must be a whole number >= 1")
  expect_error(fit_one_cycle(model, x, 1:4, epochs = 2.5), "^`epochs`")
  expect_error(fit_one_cycle(model, x, 1:4, batch_size = "a"), "^`batch_size`")
  expect_error(fit_one_cycle(model, x, 1:4, max_lr = -1), "^`max_lr` must be a positive number")
  expect_error(fit_one_cycle(model, x, 1:4, range_test_args = list(1)), "^`range_test_args` must be a named list")
  expect_error(fit_one_cycle(model, x, 1:4, range_test_args = list(x = 1)),
               "^`range_test_args` must not set `x`")
  expect_error(fit_one_cycle(model, x, 1:4, one_cycle_args = list(max_lr = 1)),
               "^`one_cycle_args` must not set `max_lr`")
  expect_error(fit_one_cycle(model, x, 1:4, max_lr = 0.1, range_test_args = list(num_iter = 50)),
               "Give `max_lr` or `range_test_args`, not both")
  expect_error(fit_one_cycle(model, x, 1:4, one_cycle_args = list(pct_start = 2)), "^`pct_start`")
  expect_error(fit_one_cycle(model, x, 1:4, range_test_args = list(num_iter = 2)), "^`num_iter`")
  expect_error(fit_one_cycle(model, x, 1:3), "^`y` must have as many samples as `x`")
  expect_error(fit_one_cycle(model, x, 1:4), "^`model` must be a compiled Keras model")
  expect_error(fit_one_cycle(model, x, 1:4, verbose = "yes"), "^`verbose`")
})

iris_twins <- function(keras) {
  make <- function() {
    keras$utils$set_random_seed(3L)
    model <- keras$Sequential(list(keras$Input(shape = list(4L)),
                                   keras$layers$Dense(16L, activation = "relu"),
                                   keras$layers$Dense(3L, activation = "softmax")))
    model$compile(optimizer = keras$optimizers$SGD(momentum = 0.9),
                  loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
    model
  }
  list(make(), make())
}

test_that("with R data it trains as callback_one_cycle() at the range test's max_lr does", {
  keras <- keras_for_tests()
  twins <- iris_twins(keras)
  x <- as.data.frame(scale(iris[, 1:4]))  # a data frame of doubles, factor labels
  y <- iris$Species
  fit <- fit_one_cycle(twins[[1]], x, y, epochs = 2, batch_size = 16, verbose = 0, shuffle = FALSE)
  expect_s3_class(fit, "kerasclr_fit_one_cycle")
  expect_s3_class(fit$range_test, "lr_range_test")
  expect_identical(fit$max_lr, unname(fit$range_test$lr_range[["max_lr"]]))
  expect_gt(fit$range_test_steps, 0L)
  expect_identical(nrow(fit$metrics), 2L)
  expect_true(all(c("loss", "accuracy") %in% names(fit$metrics)))
  # The one-cycle schedule of the whole fit: 2 epochs of ceiling(150 / 16) = 10 batches.
  batches <- as.data.frame(fit$one_cycle)
  expect_identical(nrow(batches), 20L)
  expect_equal(batches$learning_rate, as.numeric(one_cycle_lr(20, max_lr = fit$max_lr)),
               tolerance = 1e-6)
  # The range test left no trace: its twin, trained by hand from the same start with the
  # same callback, ends with the very same weights.
  manual <- callback_one_cycle(max_lr = fit$max_lr)
  twins[[2]]$fit(reticulate::np_array(as.matrix(x), dtype = "float32"),
                 reticulate::np_array(as.integer(y) - 1L, dtype = "int32"),
                 epochs = 2L, batch_size = 16L, verbose = 0L, shuffle = FALSE,
                 callbacks = list(manual))
  a <- twins[[1]]$get_weights()
  b <- twins[[2]]$get_weights()
  for (i in seq_along(a)) expect_identical(a[[i]], b[[i]])
  expect_output(print(fit), "one-cycle training, max_lr = .*from the range test")
})

test_that("a given max_lr skips the range test; one_cycle_args reach the callback", {
  keras <- keras_for_tests()
  model <- iris_twins(keras)[[1]]
  fit <- fit_one_cycle(model, as.matrix(iris[, 1:4]), as.integer(iris$Species) - 1L, epochs = 1,
                       batch_size = 50, max_lr = 0.05, verbose = FALSE,
                       one_cycle_args = list(pct_start = 0.5, momentum = c(0.95, 0.85)))
  expect_null(fit$range_test)
  expect_identical(fit$range_test_steps, 0L)
  batches <- as.data.frame(fit$one_cycle)
  expect_equal(batches$learning_rate,
               as.numeric(one_cycle_lr(3, max_lr = 0.05, pct_start = 0.5)), tolerance = 1e-6)
  expect_equal(batches$momentum, attr(one_cycle_lr(3, max_lr = 0.05, pct_start = 0.5,
                                                   momentum = c(0.95, 0.85)), "momentum"),
               tolerance = 1e-6)
})
