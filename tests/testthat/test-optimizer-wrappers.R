# An optimizer that hands its updates to other optimizers (Keras' MultiOptimizer) would ignore a
# schedule set on it: the callbacks and the range test stop with an error that says so.

test_that("MultiOptimizer gets a clear error from the callbacks and the range test", {
  keras <- keras_for_tests()
  skip_if_not(reticulate::py_has_attr(keras$optimizers, "MultiOptimizer"), "Keras < 3.15")
  keras$utils$set_random_seed(1L)
  model <- keras$Sequential(list(keras$Input(shape = list(3L)), keras$layers$Dense(2L)))
  multi <- keras$optimizers$MultiOptimizer(
    keras$optimizers$OptimizerMap(default_optimizer = keras$optimizers$SGD(0.1)))
  model$compile(optimizer = multi, loss = "mse")
  x <- matrix(seq(-1, 1, length.out = 30), nrow = 10)
  y <- matrix(seq(0, 1, length.out = 20), nrow = 10)
  before <- model$get_weights()

  expect_error(lr_range_test(model, x, y, num_iter = 5, verbose = FALSE),
               "MultiOptimizer hands its updates to other optimizers (SGD)", fixed = TRUE)
  for (cb in list(callback_cyclic_lr(base_lr = 0.01, max_lr = 0.1, step_size = 2),
                  callback_one_cycle(max_lr = 0.1, momentum = NULL))) {
    expect_error(model$fit(x, y, batch_size = 4L, epochs = 1L, verbose = 0L, callbacks = list(cb)),
                 "learning_rate_schedule_cyclic()", fixed = TRUE)
  }
  expect_identical(model$get_weights(), before)  # nothing trained
})
