# The learning-rate range test: lr_range_test() and the methods of its result.
# The test itself runs in Python (inst/python/kerasclr/range_test.py); the suggestion
# methods are in inst/python/kerasclr/suggestions.py. This file checks arguments in R,
# converts the data, and turns the Python result into an R object.

#' Learning-rate range test
#'
#' Trains a compiled Keras model for `num_iter` batches while the learning rate grows every
#' batch from `start_lr` to `end_lr`, records the loss, and suggests learning rates
#' (Smith 2017; the "LR finder" of fastai). The model is then put back **exactly** as it
#' was: weights, optimizer state (iteration count, slots such as momentums), learning rate
#' and any hyperparameter the test changed, bit for bit, whether the test completed,
#' diverged, hit a NaN loss, raised an error or was interrupted. Nothing is written to
#' disk. An optimizer that was not built yet is left unbuilt.
#'
#' The learning rate of step `i` (0-based) is
#' `start_lr * (end_lr / start_lr)^(i / (num_iter - 1))` (`"exp"`) or
#' `start_lr + (end_lr - start_lr) * i / (num_iter - 1)` (`"linear"`). Each step records
#' the loss of that batch and the bias-corrected exponentially smoothed loss
#' `avg_i / (1 - smooth^(i + 1))`, `avg_i = smooth * avg_(i-1) + (1 - smooth) * loss_i`
#' (as fastai and pytorch-lr-finder do), and, with `validation_data`, the loss on its first
#' `val_batches` (default 2) batches, so the cost per step stays bounded. The test stops
#' early when the loss is NaN or infinite, or when the smoothed loss exceeds
#' `diverge_threshold` times its minimum so far, and says so.
#'
#' The suggestions are fastai's four methods, computed exactly as `lr_find()` does (on the
#' smoothed loss, leaving out the first `num_iter %/% 10` and the last 5 points):
#' `valley` (fastai's default: about halfway down the longest valley of the curve), `steep`
#' (the steepest fall against `log(lr)`), `minimum` (a tenth of the lr at the lowest
#' loss) and `slide` (fastai's interval slide rule).
#'
#' `$lr_range` is `c(base_lr, max_lr)` for one-cycle and cyclical training, by kerasclr's
#' rule from the rate where the smoothed loss turns up. The rule, why it is what it is and
#' the measurements it rests on are written in one place: the documentation of the Python
#' function `kerasclr.suggestions.lr_range_rule` (file `python/kerasclr/suggestions.py`
#' of the installed package); the outcome against tuned schedules is the panel in the
#' README. Pass the result to `callback_cyclic_lr(lr_range = res)` or
#' `callback_one_cycle(max_lr = res)`; with that callback's defaults, training keeps the
#' momentum (or `beta_1`) that the test measured with, the optimizer's own.
#'
#' With `weight_decay` and/or `momentum`, one test is run per value (per combination
#' when both are given), each from the same starting state. `weight_decay` sets the
#' optimizer's `weight_decay`: Keras 3's decoupled weight decay (`w <- w - lr *
#' weight_decay * w` before the update), which every built-in Keras 3 optimizer supports;
#' an optimizer without it is an error (add L2 `kernel_regularizer`s instead).
#' `momentum` sets `momentum` (SGD, RMSprop) or `beta_1` (the Adam family, Lion); an SGD
#' compiled with `momentum = 0` and already built has no momentum buffers, which is an
#' error. The run with the lowest minimum validation loss (or smoothed loss, without
#' validation data) gives `$suggestions` and `$lr_range`; `$runs` has them all.
#'
#' @param model (Keras model) A compiled Keras 3 model (`keras$Model`, via reticulate or
#'   keras3), or a Keras 2 one (`tf_keras`, as the old `keras` package builds them; there
#'   `weight_decay` needs one of `tf_keras$optimizers`, not a legacy optimizer).
#' @param x Training inputs: R data (a numeric, integer or logical vector, matrix or
#'   array, a data frame, or a list of them for several inputs), an R generator function
#'   returning `list(x, y)` batches (as the old keras package's `fit_generator()` takes),
#'   or any source Keras' `fit()` accepts (a `tf.data` dataset such as keras3's
#'   `image_dataset_from_directory()` gives, a Python generator, a `keras.utils.PyDataset`).
#'   R data are converted as keras3 converts them: see [kerasclr-data]. Sources with fewer
#'   than `num_iter` batches are cycled; a one-shot generator that runs out ends the test
#'   early (stop reason `"exhausted"`).
#' @param y Training targets for R or array `x` (same number of samples), else `NULL`:
#'   numbers, integer or factor class labels (a factor gives its 0-based codes), logical
#'   labels, a data frame, or a list of them for several outputs.
#' @param start_lr,end_lr (number) First and last learning rate, `0 < start_lr < end_lr`.
#' @param num_iter (whole number) Number of steps (batches), `>= 5`.
#' @param step_mode (string) `"exp"` (exponential growth, the default) or `"linear"`.
#' @param batch_size (whole number) Batch size for array input.
#' @param validation_data (list or `NULL`) `list(x_val, y_val)` (R data as for `x` and
#'   `y`), a dataset or a generator; its first `val_batches` batches are evaluated after
#'   every step.
#' @param diverge_threshold (number) Stop when the smoothed loss exceeds this many times
#'   its minimum, `> 1`.
#' @param smooth (number) Smoothing factor in `[0, 1)`; `0` records the raw loss.
#' @param weight_decay (numeric vector or `NULL`) Weight-decay values to test, `>= 0`.
#' @param momentum (numeric vector or `NULL`) Momentum values to test, in `[0, 1)`.
#' @param restore (logical) Put the weights and optimizer state back afterwards. With
#'   `FALSE` they are left as the test leaves them (after an error or interrupt they are
#'   restored anyway; on JAX, up to two steps after the step at which it stopped); the
#'   learning rate and the hyperparameters the test changed are always put back.
#' @param verbose (logical) Show a progress bar.
#' @param ... Passed on: `val_batches` (whole number, validation batches per step,
#'   default 2), and arguments of the model's `fit()` such as `shuffle`, `class_weight`,
#'   `sample_weight` (both converted as [kerasclr-data] says) or `callbacks`.
#'
#' @returns An object of class `"lr_range_test"`: a list with
#'   * `history`: a data frame with columns `lr`, `loss`, `smoothed_loss` and, when used,
#'     `val_loss`, `weight_decay`, `momentum` (one row per step and run);
#'   * `suggestions`: named numeric `c(valley, steep, minimum, slide)` (`NA` where the
#'     curve is too short for a method);
#'   * `lr_range`: named numeric `c(base_lr, max_lr)`;
#'   * `runs`: a data frame, one row per run: hyperparameters, `steps`, `stop_reason`
#'     (`"completed"`, `"diverged"`, `"nan"`, `"exhausted"`), `message`, the four
#'     suggestions, `base_lr`, `max_lr`;
#'   * `best_run` (the row of `runs` the suggestions come from) and `settings`.
#'
#'   It has `print()`, `plot()` and `as.data.frame()` methods.
#' @references Smith, L. N. (2017). Cyclical learning rates for training neural networks.
#'   WACV. \doi{10.1109/WACV.2017.58}
#'
#'   Howard, J. and Gugger, S. (2020). fastai: a layered API for deep learning.
#'   *Information* 11(2), 108 (`Learner.lr_find()`).
#' @family range test
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' x <- matrix(rnorm(2000), ncol = 4)
#' y <- x %*% c(1, 2, -1, 0.5) + rnorm(500, sd = 0.1)
#' model <- keras$Sequential(list(keras$Input(shape = list(4L)),
#'                                keras$layers$Dense(16L, activation = "relu"),
#'                                keras$layers$Dense(1L)))
#' model$compile(optimizer = keras$optimizers$SGD(momentum = 0.9), loss = "mse")
#' res <- lr_range_test(model, x, y, start_lr = 1e-5, end_lr = 1, num_iter = 50,
#'                      verbose = FALSE)
#' res
#' plot(res)
#' res$lr_range
#'
#' # One curve per weight-decay value:
#' grid <- lr_range_test(model, x, y, start_lr = 1e-5, end_lr = 1, num_iter = 50,
#'                       weight_decay = c(0, 1e-3, 1e-2), verbose = FALSE)
#' plot(grid)
#' @export
lr_range_test <- function(model, x, y = NULL, start_lr = 1e-7, end_lr = 10, num_iter = 100,
                          step_mode = c("exp", "linear"), batch_size = 32,
                          validation_data = NULL, diverge_threshold = 5, smooth = 0.98,
                          weight_decay = NULL, momentum = NULL, restore = TRUE, verbose = TRUE,
                          ...) {
  if (missing(model)) stop("`model` must be a compiled Keras model, not missing.", call. = FALSE)
  if (missing(x)) stop("`x` must be training data, not missing.", call. = FALSE)
  args <- range_test_py_args(model, x, y, start_lr = start_lr, end_lr = end_lr,
                             num_iter = num_iter, step_mode = step_mode, batch_size = batch_size,
                             validation_data = validation_data,
                             diverge_threshold = diverge_threshold, smooth = smooth,
                             weight_decay = weight_decay, momentum = momentum, restore = restore,
                             verbose = verbose, ...)
  range_test <- kerasclr_py_module("range_test")
  # An interrupt (Ctrl+C) can unwind Python's frames without their cleanup: put the model back.
  on.exit(range_test$restore_unfinished(), add = TRUE)
  result <- py_call(do.call(range_test$lr_range_test, args))
  res <- new_lr_range_test(result)
  warn_exhausted(res)
  res
}

#' Print, plot and convert a learning-rate range test
#'
#' `print()` shows how the test ended and the suggested learning rates; `plot()` draws
#' the smoothed loss against the learning rate (log axis) with base graphics, one curve
#' per grid value, the suggestions marked on the curve they come from; `as.data.frame()`
#' returns the per-step history.
#'
#' @param x (lr_range_test) The result of [lr_range_test()].
#' @param ... Passed to [graphics::plot()] (e.g. `ylim`); ignored by the other methods.
#' @returns `print()` and `plot()` return `x` invisibly; `as.data.frame()` the data frame
#'   `x$history`.
#' @family range test
#' @name lr_range_test-methods
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' x <- matrix(rnorm(800), ncol = 4)
#' y <- x %*% c(1, 2, -1, 0.5)
#' model <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(1L)))
#' model$compile(optimizer = "sgd", loss = "mse")
#' res <- lr_range_test(model, x, y, start_lr = 1e-4, end_lr = 10, num_iter = 30,
#'                      verbose = FALSE)
#' print(res)
#' plot(res)
#' head(as.data.frame(res))
NULL

#' @rdname lr_range_test-methods
#' @export
print.lr_range_test <- function(x, ...) {
  s <- x$settings
  cat(sprintf("<lr_range_test> %d step%s asked, lr %s -> %s (%s), backend %s\n",
              s$num_iter, if (s$num_iter == 1) "" else "s", format_lr(s$start_lr),
              format_lr(s$end_lr), s$step_mode, s$backend))
  runs <- x$runs
  grid <- intersect(c("weight_decay", "momentum"), names(runs))
  if (nrow(runs) == 1) {
    cat("Run: ", runs$message[1], ".\n", sep = "")
  } else {
    cat(sprintf("%d runs (one per %s value):\n", nrow(runs), paste(grid, collapse = " x ")))
    shown <- runs[, c(grid, "steps", "stop_reason", "valley", "steep", "minimum", "slide"),
                  drop = FALSE]
    for (m in c("valley", "steep", "minimum", "slide")) shown[[m]] <- format_lr(shown[[m]])
    print(shown, row.names = FALSE)
    cat(sprintf("Best run (lowest %s): %s\n",
                if ("val_loss" %in% names(x$history)) "validation loss" else "smoothed loss",
                paste(sprintf("%s = %s", grid, vapply(grid, function(g) format(runs[[g]][x$best_run]), "")),
                      collapse = ", ")))
  }
  cat("Suggested learning rates (fastai's methods, on the smoothed loss):\n")
  sug <- x$suggestions
  notes <- c(valley = "(fastai's default)", steep = "",
             minimum = "(a tenth of the lr at the lowest loss)", slide = "")
  for (m in names(sug)) cat(sprintf("  %-8s %-10s %s\n", m, format_lr(sug[[m]]), notes[[m]]))
  cat(sprintf("lr_range for callback_cyclic_lr()/callback_one_cycle(): base_lr = %s, max_lr = %s\n",
              format_lr(x$lr_range[["base_lr"]]), format_lr(x$lr_range[["max_lr"]])))
  invisible(x)
}

#' @rdname lr_range_test-methods
#' @param log (string) Passed to [graphics::plot()]; `"x"` (log learning-rate axis).
#' @param skip_end (whole number) Points left out at the end of each curve, where the loss
#'   explodes (as fastai's plot does).
#' @export
plot.lr_range_test <- function(x, ..., log = "x", skip_end = 5) {
  check_choice(log, "log", c("x", "", "xy", "y"))
  check_number(skip_end, "skip_end", min = 0, integer = TRUE)
  h <- x$history
  runs <- x$runs
  grid <- intersect(c("weight_decay", "momentum"), names(runs))
  run_of_row <- rep(seq_len(nrow(runs)), runs$steps)
  curves <- lapply(seq_len(nrow(runs)), function(i) {
    d <- h[run_of_row == i, , drop = FALSE]
    d[seq_len(max(min(nrow(d), 2), nrow(d) - skip_end)), , drop = FALSE]
  })
  names(curves) <- if (length(grid)) {
    vapply(seq_len(nrow(runs)), function(i) {
      paste(sprintf("%s = %s", grid, vapply(grid, function(g) format(runs[[g]][i]), "")),
            collapse = ", ")
    }, "")
  } else "loss"
  ys <- unlist(lapply(curves, `[[`, "smoothed_loss"))
  ys <- ys[is.finite(ys)]
  xs <- h$lr[h$lr > 0]
  cols <- grDevices::hcl.colors(max(2, length(curves)), "Dark 3")[seq_along(curves)]
  old <- graphics::par(mar = c(4.5, 4.5, 2, 1))
  on.exit(graphics::par(old), add = TRUE)
  graphics::plot(range(xs), range(ys), type = "n", log = log, xlab = "learning rate",
                 ylab = "smoothed loss", main = "Learning-rate range test", ...)
  for (i in seq_along(curves)) {
    graphics::lines(curves[[i]]$lr, curves[[i]]$smoothed_loss, col = cols[i], lwd = 2)
  }
  # The suggestions, marked on the curve they come from.
  best <- curves[[x$best_run]]
  sug <- x$suggestions[is.finite(x$suggestions)]
  pch <- c(valley = 19, steep = 17, minimum = 15, slide = 18)
  if (length(sug) && nrow(best) > 1) {
    at <- stats::approx(log(best$lr), best$smoothed_loss, xout = log(sug), rule = 2)$y
    graphics::points(sug, at, pch = pch[names(sug)], cex = 1.4, col = "black")
  }
  labels <- sprintf("%s %s", names(sug), format_lr(sug))
  legend_cols <- rep("black", length(sug))
  legend_pch <- unname(pch[names(sug)])
  legend_lty <- rep(NA, length(sug))
  if (length(curves) > 1) {
    labels <- c(names(curves), labels)
    legend_cols <- c(cols, legend_cols)
    legend_pch <- c(rep(NA, length(curves)), legend_pch)
    legend_lty <- c(rep(1, length(curves)), legend_lty)
  }
  graphics::legend("bottomleft", legend = labels, col = legend_cols, pch = legend_pch,
                   lty = legend_lty, lwd = 2, bty = "n", cex = 0.8)
  invisible(x)
}

#' @rdname lr_range_test-methods
#' @param row.names,optional Ignored.
#' @export
as.data.frame.lr_range_test <- function(x, row.names = NULL, optional = FALSE, ...) {
  x$history
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# The checked and converted arguments of Python's lr_range_test(), everything checked in R
# before any Python call (shared by lr_range_test() and fit_one_cycle()).
range_test_py_args <- function(model, x, y = NULL, start_lr = 1e-7, end_lr = 10, num_iter = 100,
                               step_mode = c("exp", "linear"), batch_size = 32,
                               validation_data = NULL, diverge_threshold = 5, smooth = 0.98,
                               weight_decay = NULL, momentum = NULL, restore = TRUE,
                               verbose = TRUE, ...) {
  if (identical(step_mode, c("exp", "linear"))) step_mode <- "exp"
  check_number(start_lr, "start_lr", min = 0, min_inclusive = FALSE)
  check_number(end_lr, "end_lr", min = 0, min_inclusive = FALSE)
  if (end_lr <= start_lr) {
    stop(sprintf("`end_lr` must be greater than `start_lr` (%s), not %s.",
                 format(start_lr), format(end_lr)), call. = FALSE)
  }
  check_number(num_iter, "num_iter", min = 5, integer = TRUE)
  check_choice(step_mode, "step_mode", c("exp", "linear"))
  check_number(batch_size, "batch_size", min = 1, integer = TRUE)
  check_number(diverge_threshold, "diverge_threshold", min = 1, min_inclusive = FALSE)
  check_number(smooth, "smooth", min = 0, max = 1)
  if (smooth >= 1) arg_error("smooth", "a number in [0, 1)", smooth)
  check_grid(weight_decay, "weight_decay", max = Inf)
  check_grid(momentum, "momentum", max = 1)
  check_flag(restore, "restore")
  check_flag(verbose, "verbose")
  extra <- list(...)
  if (!is.null(extra$val_batches)) {
    check_number(extra$val_batches, "val_batches", min = 1, integer = TRUE)
    extra$val_batches <- as.integer(extra$val_batches)
  }
  data <- fit_data_args(model, x, y, validation_data, extra)
  c(list(model = model), data,
    list(start_lr = start_lr, end_lr = end_lr, num_iter = as.integer(num_iter),
         step_mode = step_mode, batch_size = as.integer(batch_size),
         diverge_threshold = diverge_threshold, smooth = smooth,
         weight_decay = if (is.null(weight_decay)) NULL else as.list(as.numeric(weight_decay)),
         momentum = if (is.null(momentum)) NULL else as.list(as.numeric(momentum)),
         restore = restore, verbose = verbose))
}

# `x`, `y`, `validation_data` and the data among fit()'s further arguments (`extra`:
# sample_weight, class_weight), checked in R first (no Python), then converted once the
# model is known (R/data.R); the other arguments in `extra` are kept as they are.
fit_data_args <- function(model, x, y, validation_data, extra) {
  if (is.null(x)) arg_error("x", "training data", x)
  as_keras_data(x, "x", role = "input_names")
  as_keras_data(y, "y", role = "output_names")
  check_samples(x, y)
  if (is.null(y) && !is.na(n_samples(x))) {
    stop("`y` must be the targets of `x` (one per sample), not NULL.", call. = FALSE)
  }
  extra <- fit_extra_args(model, y, validation_data, extra, is.function(x) ||
                            inherits(x, "python.builtin.generator"))
  spec <- data_spec(model)
  c(list(x = as_keras_data(x, "x", spec, "input_names"),
         y = as_keras_data(y, "y", spec, "output_names")),
    extra)
}

# `validation_data` and the data among fit()'s further arguments (sample_weight,
# class_weight), checked in R first, then converted for the model (the targets `y` name the
# classes of a class_weight); with a generator `x`, shuffle = FALSE unless given.
fit_extra_args <- function(model, y, validation_data, extra, generator) {
  as_keras_data(extra$sample_weight, "sample_weight")
  as_class_weight(extra$class_weight, y, to_py = FALSE)
  as_keras_validation(validation_data)
  check_model(model)
  spec <- data_spec(model)
  if (!is.null(extra$sample_weight)) {
    extra$sample_weight <- as_keras_data(extra$sample_weight, "sample_weight", spec)
  }
  if (!is.null(extra$class_weight)) extra$class_weight <- as_class_weight(extra$class_weight, y)
  # Keras warns that it cannot shuffle a generator (fit()'s default is shuffle = TRUE).
  if (generator && is.null(extra$shuffle)) extra$shuffle <- FALSE
  c(list(validation_data = as_keras_validation(validation_data, spec)), extra)
}

warn_exhausted <- function(res) {
  exhausted <- which(res$runs$stop_reason == "exhausted")
  if (length(exhausted)) warning("The lr range test ", res$runs$message[exhausted[1]], ".", call. = FALSE)
}

# `result` is the Python kerasclr.RangeTestResult (inst/python/kerasclr/results.py); its
# fields are read as attributes, which reticulate converts (dicts, lists, NumPy arrays).
new_lr_range_test <- function(result) {
  history <- as.data.frame(lapply(result$history, as.numeric))
  runs <- do.call(rbind, lapply(result$runs, function(run) {
    row <- list()
    if (!is.null(run$weight_decay)) row$weight_decay <- run$weight_decay
    if (!is.null(run$momentum)) row$momentum <- run$momentum
    sug <- unlist(lapply(run$suggestions, as_number))
    row <- c(row, list(steps = as.integer(run$steps), stop_reason = run$stop_reason,
                       message = run$message), as.list(sug),
             list(base_lr = as_number(run$lr_range[[1]]), max_lr = as_number(run$lr_range[[2]])))
    as.data.frame(row, stringsAsFactors = FALSE)
  }))
  best <- as.integer(result$best_run) + 1L
  suggestions <- unlist(lapply(result$suggestions, as_number))
  suggestions <- suggestions[c("valley", "steep", "minimum", "slide")]
  lr_range <- c(base_lr = as_number(result$lr_range[[1]]), max_lr = as_number(result$lr_range[[2]]))
  structure(list(history = history, suggestions = suggestions, lr_range = lr_range,
                 runs = runs, best_run = best, settings = result$settings),
            class = "lr_range_test")
}

as_number <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

check_grid <- function(x, name, max) {
  if (is.null(x)) return(invisible(NULL))
  what <- if (is.finite(max)) sprintf("a numeric vector of values in [0, %s)", format(max))
          else "a numeric vector of values >= 0"
  if (!is.numeric(x) || length(x) == 0 || anyNA(x) || any(!is.finite(x)) || any(x < 0) ||
      any(x >= max)) {
    arg_error(name, what, x)
  }
  invisible(x)
}

check_model <- function(model) {
  if (!inherits(model, "python.builtin.object") || !reticulate::py_has_attr(model, "fit")) {
    seen <- if (is.object(model)) sprintf("an object of class %s", class(model)[1]) else describe(model)
    stop(sprintf("`model` must be a compiled Keras model, not %s.", seen), call. = FALSE)
  }
  # Keras 3 and Keras 2 (tf_keras) models say it differently: Python knows both.
  compiled <- isTRUE(tryCatch(kerasclr_py_module("training")$is_compiled(model),
                              error = function(e) FALSE))
  if (!compiled) {
    stop("`model` must be a compiled Keras model: call `model$compile(optimizer, loss)` first.",
         call. = FALSE)
  }
  invisible(model)
}
