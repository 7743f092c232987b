# The R code of the blog post "Cyclical learning rate with R and Keras" (casualR,
# R-bloggers; /work/shared/seeds/000_cbd6375510558d25.txt), transcribed as it was written,
# as the oracle for cyclic_lr(). Only the layout is changed; the comments are shortened.
# Also used by bench/bench-schedules.R.

# The blog's Cyclic_LR(): one iteration at a time, 1-based `iteration` (it is used as a
# list index), translated by the blog's author from bckenstler/CLR clr_callback.py.
seed_cyclic_lr <- function(iteration = 1:32000, base_lr = 1e-5, max_lr = 1e-3, step_size = 2000,
                           mode = "triangular", gamma = 1, scale_fn = NULL, scale_mode = "cycle") {
  if (is.null(scale_fn) == TRUE) {
    if (mode == "triangular") {scale_fn <- function(x) 1; scale_mode <- "cycle";}
    if (mode == "triangular2") {scale_fn <- function(x) 1 / (2^(x - 1)); scale_mode <- "cycle";}
    if (mode == "exp_range") {scale_fn <- function(x) gamma^(x); scale_mode <- "iterations";}
    if (mode == "sinus") {scale_fn <- function(x) 0.5 * (1 + sin(x * pi / 2)); scale_mode <- "cycle";}
    if (mode == "halfcosine") {scale_fn <- function(x) 0.5 * (1 + cos(x * pi)^2); scale_mode <- "cycle";}
  }
  lr <- list()
  if (is.vector(iteration) == TRUE) {
    for (iter in iteration) {
      cycle <- floor(1 + (iter / (2 * step_size)))
      x2 <- abs(iter / step_size - 2 * cycle + 1)
      if (scale_mode == "cycle") x <- cycle
      if (scale_mode == "iterations") x <- iter
      lr[[iter]] <- base_lr + (max_lr - base_lr) * max(0, (1 - x2)) * scale_fn(x)
    }
  }
  lr <- do.call("rbind", lr)
  return(as.vector(lr))
}

# The blog's tail ("annihilation of the gradient"): the divisors 1.1 * 1.2^i, i = 1..tail.
seed_tail_divisor <- function(tail) {
  i <- 1:tail
  1.1 * (1.2^i)
}

# The blog applies them with `start_tail <- length(l) - tail; l[start_tail:end_tail] / l_rate_div`,
# which selects tail + 1 steps for tail divisors (R recycles the first divisor onto the last
# step, with a warning). kerasclr divides exactly the last `tail` steps; this is that, with
# the blog's divisors.
seed_apply_tail <- function(l_rate_cyclical, tail) {
  end_tail <- length(l_rate_cyclical)
  start_tail <- end_tail - tail + 1
  l_rate_cyclical[start_tail:end_tail] <- l_rate_cyclical[start_tail:end_tail] / seed_tail_divisor(tail)
  l_rate_cyclical
}

# The seed's formula vectorized in plain R (the baseline of the benchmark).
seed_cyclic_lr_vectorized <- function(iteration, base_lr = 1e-5, max_lr = 1e-3, step_size = 2000) {
  cycle <- floor(1 + iteration / (2 * step_size))
  x2 <- abs(iteration / step_size - 2 * cycle + 1)
  base_lr + (max_lr - base_lr) * pmax(0, 1 - x2)
}
