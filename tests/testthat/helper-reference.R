# Hand-computed training of a Dense(1) layer with the MSE loss, the oracle of the callback
# tests: Keras' SGD with momentum, m <- mom * m - lr * g; w <- w + m (mom = 0: plain SGD),
# batches taken in order. Returns the final weights and the loss of every batch (before
# its update, as Keras reports it).
sgd_reference <- function(x, y, w, b, lr, mom = rep(0, length(lr)), batch_size) {
  n <- nrow(x)
  starts <- seq(1, n, by = batch_size)
  mw <- 0 * w
  mb <- 0
  losses <- numeric(length(lr))
  for (k in seq_along(lr)) {
    first <- starts[(k - 1) %% length(starts) + 1]
    rows <- first:min(n, first + batch_size - 1)
    xb <- x[rows, , drop = FALSE]
    err <- as.numeric(xb %*% w + b - y[rows])
    losses[k] <- mean(err^2)
    gw <- as.numeric(2 / length(rows) * t(xb) %*% err)
    gb <- 2 / length(rows) * sum(err)
    mw <- mom[k] * mw - lr[k] * gw
    mb <- mom[k] * mb - lr[k] * gb
    w <- w + mw
    b <- b + mb
  }
  list(w = w, b = b, losses = losses)
}

# The callbacks' history holds the float32 learning rates and momenta that the optimizer
# used (recorded in the train step): compare them with the float64 formulas at this tolerance.
float32 <- 1e-6
