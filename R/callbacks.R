# Keras callbacks for cyclical learning rates and the one-cycle policy. The callback
# classes live in inst/python/kerasclr/callbacks.py (the formulas in policies.py); this
# file checks arguments in R, forwards only what the user supplied, and gives the
# callbacks R methods (as.data.frame(), plot()).

#' Cyclical learning rate callback
#'
#' A Keras callback that cycles the learning rate (and optionally the momentum) of the
#' optimizer during `fit()`, with the cyclical policy of Smith (2017); see
#' [cyclic_lr()] for the formulas, the modes and the tail. Pass it to
#' `model$fit(..., callbacks = list(cb))`.
#'
#' The learning rate at a training step is computed from the optimizer's own
#' iteration count, inside the compiled train step (TensorFlow, JAX or PyTorch). Hence
#' it continues exactly over several `fit()` calls, with `steps_per_execution > 1`,
#' and for a model reloaded from a `.keras` file; and it costs no R or Python work per
#' batch. The momentum (SGD and RMSprop `momentum`, the `beta_1` of Adam, AdamW,
#' Nadam, Adamax and Lion) is cycled the same way, opposite to the learning rate. An
#' SGD optimizer created with `momentum = 0` cannot cycle momentum (it has no momentum
#' buffers): `fit()` stops at the start with an error saying so. An optimizer whose
#' learning rate is a `LearningRateSchedule` is refused too: use either the schedule
#' (see [learning_rate_schedule_cyclic()]) or the callback.
#'
#' After `fit()` the optimizer's learning rate holds the value of the next step;
#' `momentum`/`beta_1` are left as they were. Each epoch's `learning_rate` (and
#' `momentum`) are added to the logs, hence to the history returned by `fit()`. The
#' callback also keeps its own per-step history (iteration, the learning rate and
#' momentum the optimizer used, the true loss of each batch rather than Keras' running
#' mean, and the logged metrics), accumulated over `fit()` calls: see `as.data.frame()`
#' and `plot()` below. The train step records it itself, into a buffer read once per
#' epoch, so the callback runs no R or Python code per batch.
#' `cb$reset(base_lr = NULL, max_lr = NULL, step_size = NULL)` starts a new cycle at the
#' current step, optionally with new bounds (the history is kept).
#'
#' It works with R arrays, Python generators, `keras.utils.PyDataset` and `tf.data`
#' datasets, with mixed precision (`LossScaleOptimizer`), under
#' `tf.distribute.MirroredStrategy` and with `keras.distribution.DataParallel` on JAX.
#'
#' The same callback works with Keras 2 models (`tf_keras`, what the old `keras` R
#' package builds with `TF_USE_LEGACY_KERAS=1`), in `fit()` and `fit_generator()`: each
#' `fit()` looks at the model the callback is attached to. The learning rate and the
#' momentum are then computed in the compiled step too, from per-fit tables, with the
#' optimizers of `optimizer_sgd()`, `optimizer_rmsprop()`, `optimizer_adam()` (and the
#' Adam family) as well as the legacy ones (`tf_keras$optimizers$legacy`).
#'
#' An R `scale_fn` cannot run inside the compiled step. For a `fit()` of known length it
#' is called once at the start of `fit()` on the cycle numbers (or iterations) of the
#' whole fit, and the values are looked up in-graph. For data of unknown length
#' (generators without `steps_per_epoch`) the learning rate is set from R before every
#' batch, which costs one call into R per step: about 45 to 100 microseconds on our
#' 2-core test machine, against 13 to 35 for a named mode (`bench/bench-callbacks.R`,
#' which also times the whole fit), and momentum cannot be cycled.
#'
#' @inheritParams cyclic_lr
#' @param step_size (number or `NULL`) Steps per half cycle, `> 0`. `NULL` (default): half
#'   the steps of the first `fit()` (`epochs` times the steps per epoch), so that the fit is
#'   one whole cycle and ends at `base_lr`, counted from its first step; later fits go on with
#'   that cycle. Smith (2017) advises stopping at the end of a cycle, with 2 to 10 epochs per
#'   half cycle: give a number for several cycles per fit, and for data of unknown length
#'   (then `fit()` stops at the start with an error saying so). The original Keras callback,
#'   and [cyclic_lr()], default to 2000 steps, more than many fits.
#' @param momentum (numeric of length 2 or `NULL`) `c(high, low)`: cycle the optimizer's
#'   momentum between `high` (at `base_lr`) and `low` (at `max_lr`). `NULL` (default)
#'   leaves the momentum alone.
#' @param schedule (numeric vector or `NULL`) Learning rates to use instead of the
#'   cyclical policy, for example from [cyclic_lr()] or [one_cycle_lr()]: element `k + 1`
#'   at training step `k`, the last value held after the end. Its `"momentum"` attribute,
#'   if any, drives the momentum the same way. The cycle arguments must then be left
#'   out.
#' @param lr_range (an [lr_range_test()] result, a numeric `c(min, max)`, or `NULL`) The
#'   bounds `base_lr` and `max_lr`, from a learning-rate range test (its `$lr_range`).
#'
#' @returns A Python Keras callback object (class `kerasclr.callbacks.CyclicLR`).
#' @references Smith, L. N. (2017). Cyclical learning rates for training neural networks.
#'   WACV. \doi{10.1109/WACV.2017.58}
#' @family callbacks
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' model <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(1L)))
#' model$compile(optimizer = keras$optimizers$SGD(momentum = 0.9), loss = "mse")
#' x <- matrix(runif(400), ncol = 4)
#' y <- x %*% c(1, -2, 3, 0.5)
#'
#' cb <- callback_cyclic_lr(base_lr = 1e-3, max_lr = 1e-1, step_size = 8,
#'                          momentum = c(0.95, 0.85))
#' model$fit(x, y, batch_size = 16L, epochs = 4L, verbose = 0L, callbacks = list(cb))
#' head(as.data.frame(cb))
#' plot(cb)
#'
#' # Drive the learning rate from an R vector, as in the R blog's workflow:
#' lr <- cyclic_lr(0:27, base_lr = 1e-3, max_lr = 1e-1, step_size = 7, tail = 3)
#' model$fit(x, y, batch_size = 16L, epochs = 4L, verbose = 0L,
#'           callbacks = list(callback_cyclic_lr(schedule = lr)))
#' @export
callback_cyclic_lr <- function(base_lr = 0.001, max_lr = 0.006, step_size = NULL,
                               mode = "triangular", gamma = 1, scale_fn = NULL,
                               scale_mode = NULL, tail = 0, momentum = NULL, schedule = NULL,
                               lr_range = NULL, ..., step_size_up = NULL, step_size_down = NULL,
                               tail_scope = c("cycle", "schedule"), tail_divisor = c(1.1, 1.2),
                               total_iterations = NULL) {
  check_dots_empty(...)
  frame <- environment()
  is_missing <- function(n) eval(call("missing", as.name(n)), frame)
  supplied <- CYCLE_ARG_NAMES[!vapply(CYCLE_ARG_NAMES, is_missing, logical(1))]
  if (!is.null(schedule)) {
    if (length(supplied) > 0) {
      stop(sprintf("`schedule` replaces the cycle arguments; leave out %s.",
                   paste0("`", supplied, "`", collapse = ", ")), call. = FALSE)
    }
    if (!is.null(lr_range)) stop("Give `schedule` or `lr_range`, not both.", call. = FALSE)
    schedule_momentum <- attr(schedule, "momentum", exact = TRUE)
    check_nonnegative_vector(schedule, "schedule")
    if (!is.null(momentum)) {
      stop(paste("`momentum` cannot be combined with `schedule`: build the schedule with",
                 "`cyclic_lr(..., momentum = c(high, low))`, whose \"momentum\" attribute is used."),
           call. = FALSE)
    }
    if (!is.null(schedule_momentum)) {
      check_nonnegative_vector(schedule_momentum, "attr(schedule, \"momentum\")", max = 1)
    }
    args <- list(schedule = as_py_array(as.numeric(schedule)),
                 momentum_schedule = if (!is.null(schedule_momentum))
                   as_py_array(as.numeric(schedule_momentum)))
    return(make_callback("CyclicLR", drop_null(args)))
  }

  if (!is.null(lr_range)) {
    if (any(c("base_lr", "max_lr") %in% supplied)) {
      stop("Give `lr_range` or `base_lr`/`max_lr`, not both.", call. = FALSE)
    }
    bounds <- lr_range_bounds(lr_range)
    base_lr <- bounds[[1]]
    max_lr <- bounds[[2]]
  }
  check_momentum(momentum)
  # The signature's defaults are the policy's: forwarding them all lets cyclic_args() check
  # the bounds together (max_lr >= base_lr) as the callback will use them.
  args <- cyclic_args_of(frame, step_size_from_fit = TRUE)
  if (!is.null(momentum)) args$momentum <- as.list(as.double(momentum))
  make_callback("CyclicLR", args)
}

#' One-cycle learning rate callback
#'
#' A Keras callback for the one-cycle policy of Smith & Topin (2017), numerically equal to
#' PyTorch's `OneCycleLR`: the learning rate warms up from `max_lr / div_factor` to
#' `max_lr` over `pct_start` of the steps, then anneals to
#' `max_lr / (div_factor * final_div_factor)`; with `momentum = c(high, low)` the momentum
#' moves the opposite way (from `high` down to `low` and back). See [one_cycle_lr()] for the
#' formulas. Values are computed from the optimizer's own iteration count inside the
#' compiled train step, as for [callback_cyclic_lr()] (which describes the momentum
#' support, the history and the errors).
#'
#' @inheritParams one_cycle_lr
#' @param max_lr (number or an [lr_range_test()] result) The peak learning rate; for a
#'   range-test result, its `$lr_range[2]`.
#' @param total_iterations (whole number or `NULL`) The length of the cycle in training
#'   steps, counted from the optimizer's iteration 0 (so that a reloaded model
#'   continues). `NULL`: the length of the first `fit()` (epochs times steps per epoch),
#'   counted from its first step; `fit()` stops with an error if the number of steps per
#'   epoch is unknown (give `steps_per_epoch` or `total_iterations`).
#' @param momentum (numeric of length 2 or `NULL`) `NULL` (the default) leaves the
#'   optimizer's momentum (`momentum`, or `beta_1` for Adam) as it is: the value that
#'   [lr_range_test()] measured the learning rate with (the evidence is with the rule,
#'   see [lr_range_test()]). `c(high, low)` cycles it from `high` down to `low` at the
#'   peak and back, as Smith (2018) and fastai do with `c(0.95, 0.85)`.
#' @param ... Must be empty.
#'
#' @returns A Python Keras callback object (class `kerasclr.callbacks.OneCycle`).
#' @references Smith, L. N. & Topin, N. (2017). Super-convergence: very fast training of
#'   neural networks using large learning rates. arXiv:1708.07120.
#' @family callbacks
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' model <- keras$Sequential(list(keras$Input(shape = list(4L)), keras$layers$Dense(1L)))
#' model$compile(optimizer = keras$optimizers$Adam(), loss = "mse")
#' x <- matrix(runif(400), ncol = 4)
#' y <- x %*% c(1, -2, 3, 0.5)
#' cb <- callback_one_cycle(max_lr = 0.05)
#' model$fit(x, y, batch_size = 16L, epochs = 5L, verbose = 0L, callbacks = list(cb))
#' plot(cb)
#' @export
callback_one_cycle <- function(max_lr, total_iterations = NULL, pct_start = 0.3,
                               div_factor = 25, final_div_factor = 1e4,
                               anneal_strategy = c("cos", "linear"), three_phase = FALSE,
                               momentum = NULL, ...) {
  check_dots_empty(...)
  if (missing(max_lr)) stop("`max_lr` is required.", call. = FALSE)
  make_callback("OneCycle", one_cycle_callback_args(
    max_lr, total_iterations = total_iterations, pct_start = pct_start, div_factor = div_factor,
    final_div_factor = final_div_factor, anneal_strategy = anneal_strategy,
    three_phase = three_phase, momentum = momentum))
}

#' The per-batch history of a learning-rate callback
#'
#' `as.data.frame()` returns one row per training step (with `steps_per_execution > 1`
#' too) seen by a [callback_cyclic_lr()] or [callback_one_cycle()] callback, over all the
#' `fit()` calls it was used in. The train step records each row as it runs. Data frames of several callbacks
#' (or of the same callback at different times) can be combined with `rbind()`.
#'
#' @param x A callback made by [callback_cyclic_lr()] or [callback_one_cycle()].
#' @param row.names,optional Ignored (for compatibility with the generic).
#' @param ... Ignored.
#' @returns A data frame with columns `epoch` (0-based, as Keras counts), `iteration`
#'   (the optimizer's 0-based step), `learning_rate` and `momentum` (the values the update
#'   used, in the optimizer's float32; `momentum` is `NA` when not cycled),
#'   `loss` (the loss of that batch, not Keras' running mean) and one column per other
#'   logged value (metrics, as Keras logs them: running means over the epoch).
#' @family callbacks
#' @exportS3Method as.data.frame kerasclr.callbacks.ScheduleCallback
as.data.frame.kerasclr.callbacks.ScheduleCallback <- function(x, row.names = NULL,
                                                              optional = FALSE, ...) {
  history <- py_call(x$history_arrays())
  if (inherits(history, "python.builtin.object")) history <- reticulate::py_to_r(history)
  columns <- lapply(history, function(column) as.numeric(column))
  columns$epoch <- as.integer(columns$epoch)
  columns$iteration <- as.integer(columns$iteration)
  for (name in names(columns)) columns[[name]][is.nan(columns[[name]])] <- NA
  first <- c("epoch", "iteration", "learning_rate", "momentum", "loss")
  columns <- columns[c(first, setdiff(names(columns), first))]
  as.data.frame(columns, stringsAsFactors = FALSE)
}

#' Plot the learning rate, momentum and loss recorded by a callback
#'
#' Draws, against the iteration, the learning rate, the momentum (when cycled) and the
#' per-batch loss recorded by a [callback_cyclic_lr()] or [callback_one_cycle()]
#' callback, in panels one above the other (base graphics; `par()` is restored).
#'
#' @param x A callback made by [callback_cyclic_lr()] or [callback_one_cycle()].
#' @param log_lr (logical) Use a log scale for the learning rate.
#' @param ... Further arguments passed to [graphics::plot()] for every panel.
#' @returns `x`, invisibly.
#' @family callbacks
#' @exportS3Method plot kerasclr.callbacks.ScheduleCallback
plot.kerasclr.callbacks.ScheduleCallback <- function(x, log_lr = FALSE, ...) {
  df <- as.data.frame(x)
  if (nrow(df) == 0) stop("The callback has no history yet: use it in `fit()` first.", call. = FALSE)
  panels <- c("learning_rate", if (any(!is.na(df$momentum))) "momentum", "loss")
  old <- graphics::par(mfrow = c(length(panels), 1), mar = c(4, 4.5, 1, 1))
  on.exit(graphics::par(old), add = TRUE)
  labels <- c(learning_rate = "learning rate", momentum = "momentum", loss = "batch loss")
  for (panel in panels) {
    graphics::plot(df$iteration, df[[panel]], type = "l", xlab = "iteration",
                   ylab = labels[[panel]], log = if (panel == "learning_rate" && log_lr) "y" else "",
                   ...)
  }
  invisible(x)
}

# ---------------------------------------------------------------------------
# Internal helpers
# ---------------------------------------------------------------------------

# The checked Python arguments of OneCycle (callback_one_cycle() and fit_one_cycle()).
one_cycle_callback_args <- function(max_lr, total_iterations = NULL, pct_start = 0.3,
                                    div_factor = 25, final_div_factor = 1e4,
                                    anneal_strategy = c("cos", "linear"), three_phase = FALSE,
                                    momentum = NULL) {
  if (inherits(max_lr, "lr_range_test")) max_lr <- lr_range_bounds(max_lr)[[2]]
  anneal_strategy <- match_choice(anneal_strategy, "anneal_strategy", c("cos", "linear"))
  args <- one_cycle_args(total_steps = total_iterations, max_lr = max_lr, pct_start = pct_start,
                         div_factor = div_factor, final_div_factor = final_div_factor,
                         anneal_strategy = anneal_strategy, three_phase = three_phase,
                         total_name = "total_iterations")
  names(args)[names(args) == "total_steps"] <- "total_iterations"
  check_momentum(momentum)
  args["momentum"] <- list(if (!is.null(momentum)) as.list(as.double(momentum)))  # NULL: off
  args
}

make_callback <- function(class_name, args) {
  module <- kerasclr_py_module("callbacks")
  py_call(do.call(module[[class_name]], args))
}

# c(base_lr, max_lr) from an lr_range_test() result or a numeric c(min, max).
lr_range_bounds <- function(lr_range, name = "lr_range") {
  if (inherits(lr_range, "lr_range_test")) lr_range <- lr_range$lr_range
  ok <- is.numeric(lr_range) && length(lr_range) == 2 && all(is.finite(lr_range)) &&
    lr_range[[1]] >= 0 && lr_range[[2]] > lr_range[[1]]
  if (!ok) {
    stop(sprintf("`%s` must be an lr_range_test() result or c(min, max) with 0 <= min < max, not %s.",
                 name, describe_values(lr_range)), call. = FALSE)
  }
  as.double(lr_range)
}
