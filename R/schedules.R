# Learning-rate schedules as R vectors (cyclic_lr(), one_cycle_lr()) and as Keras
# LearningRateSchedule objects (learning_rate_schedule_cyclic(), learning_rate_schedule_one_cycle()).
# The formulas live in inst/python/kerasclr/policies.py; this file checks arguments in R and
# forwards them. cyclic_args() and one_cycle_args() are shared with the callbacks.

#' Cyclical learning rate as an R vector
#'
#' The cyclical learning rate (CLR) policy of Smith (2017): the learning rate moves
#' linearly from `base_lr` up to `max_lr` in `step_size` steps and back down in
#' `step_size` steps, optionally with its amplitude scaled per cycle or per step, and
#' optionally with a "tail": the last `tail` steps of each cycle (or of the whole
#' schedule) divided by `1.1 * 1.2^i`, `i = 1, ..., tail`, which takes the rate several
#' orders of magnitude below `base_lr` without a jump.
#'
#' With `cycle = floor(1 + it / (2 * step_size))` and
#' `x = abs(it / step_size - 2 * cycle + 1)`,
#' `lr = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale_fn(cycle or it)`.
#' The modes are `"triangular"` (no scaling), `"triangular2"` (amplitude halved each
#' cycle, `1 / 2^(cycle - 1)`), `"exp_range"` (`gamma^it`), `"sinus"`
#' (`0.5 * (1 + sin(cycle * pi / 2))`) and `"halfcosine"` (`0.5 * (1 + cos(cycle * pi)^2)`).
#' `step_size_up`/`step_size_down` give asymmetric cycles, as in PyTorch's `CyclicLR`.
#'
#' Iterations are 0-based training steps: `cyclic_lr(0:(n - 1), ...)` is the sequence a
#' training run of `n` steps sees (`callback_cyclic_lr()` and
#' `learning_rate_schedule_cyclic()` use the same numbering). The values are computed by
#' the package's Python core (NumPy, float64) in one vectorized call.
#'
#' @param iteration (numeric vector) Training steps (0-based, `>= 0`) at which to evaluate
#'   the schedule.
#' @param base_lr (number) Lower bound of the cycle, `>= 0`.
#' @param max_lr (number) Upper bound of the cycle, `>= base_lr`.
#' @param step_size (number) Steps per half cycle, `> 0`. Smith suggests 2 to 8 times the
#'   number of steps in an epoch.
#' @param mode (string) One of `"triangular"`, `"triangular2"`, `"exp_range"`,
#'   `"sinus"`, `"halfcosine"`. Ignored when `scale_fn` is given.
#' @param gamma (number) The base of `gamma^iteration` in `"exp_range"`, in `(0, 1]`.
#' @param scale_fn (function or `NULL`) A custom amplitude scaling: a vectorized R
#'   function of one argument returning values in `[0, 1]`. It is called once, on the
#'   whole vector of cycle numbers (or iterations, see `scale_mode`). Overrides `mode`.
#' @param scale_mode (string or `NULL`) `"cycle"` or `"iterations"`: what `scale_fn` is
#'   evaluated on. `NULL` uses the mode's own (`"iterations"` for `"exp_range"`, else
#'   `"cycle"`).
#' @param tail (whole number) Number of final steps divided by `1.1 * 1.2^i`
#'   (`tail_divisor`), `i = 1, ..., tail`. `0` for none.
#' @param ... Must be empty: the arguments after it must be named.
#' @param step_size_up,step_size_down (number or `NULL`) Lengths of the rising and falling
#'   halves of an asymmetric cycle; `step_size_down` defaults to `step_size_up`, which
#'   defaults to `step_size`.
#' @param tail_scope (string) `"cycle"`: the tail ends every cycle; `"schedule"`: only the
#'   last `tail` steps of `total_iterations` are divided.
#' @param tail_divisor (numeric of length 2) `c(factor, base)` of the tail divisor
#'   `factor * base^i`.
#' @param total_iterations (whole number or `NULL`) Length of the schedule; needed when
#'   `tail_scope = "schedule"` and `tail > 0`.
#' @param momentum (numeric of length 2 or `NULL`) `c(high, low)`: also compute a momentum
#'   that cycles opposite to the learning rate, `high` at `base_lr` and `low` at `max_lr`
#'   (PyTorch's `max_momentum`, `base_momentum`). Values in `[0, 1]`, `high >= low`.
#'
#' @returns A numeric vector of learning rates, one per element of `iteration`, of class
#'   `c("kerasclr_schedule", "numeric")` with attributes `"iteration"`, `"policy"` and,
#'   when `momentum` is given, `"momentum"` (a numeric vector of the same length). It
#'   behaves as a plain numeric vector: `rep(lr, epochs)`, `lr[i]` and `lr / 10` work;
#'   `as.numeric()` drops the attributes.
#' @references Smith, L. N. (2017). Cyclical learning rates for training neural networks.
#'   WACV. \doi{10.1109/WACV.2017.58}
#' @family schedules
#' @examplesIf reticulate::py_module_available("numpy")
#' lr <- cyclic_lr(0:999, base_lr = 1e-4, max_lr = 1e-2, step_size = 250, mode = "triangular2")
#' lr
#' plot(lr)
#'
#' # The blog's set-up: one cycle per epoch of 200 steps, a 30-step tail, 10 epochs.
#' one_epoch <- cyclic_lr(0:199, base_lr = 1e-7, max_lr = 1e-3, step_size = 100, tail = 30)
#' l_rate <- rep(one_epoch, 10)
#' plot(cyclic_lr(0:399, step_size = 100, momentum = c(0.95, 0.85)), log = "y")
#'
#' # A custom, vectorized amplitude scaling evaluated on the cycle number:
#' cyclic_lr(0:1999, step_size = 200, scale_fn = function(cycle) 1 / cycle)
#' @export
cyclic_lr <- function(iteration, base_lr = 0.001, max_lr = 0.006, step_size = 2000,
                      mode = "triangular", gamma = 1, scale_fn = NULL, scale_mode = NULL,
                      tail = 0, ..., step_size_up = NULL, step_size_down = NULL,
                      tail_scope = c("cycle", "schedule"), tail_divisor = c(1.1, 1.2),
                      total_iterations = NULL, momentum = NULL) {
  check_dots_empty(...)
  check_nonnegative_vector(iteration, "iteration", hint = " (0-based training steps)")
  args <- cyclic_args_of(environment())
  check_momentum(momentum)

  lr <- policy_values("cyclic_lr", iteration, args)
  mom <- NULL
  if (!is.null(momentum)) {
    mom <- policy_values("cyclic_momentum", iteration, c(args, momentum_args(momentum)))
  }
  label <- if (is.null(scale_fn)) mode else "custom scale_fn"
  new_schedule(lr, iteration, policy = sprintf("cyclic (%s)", label), momentum = mom)
}

#' One-cycle learning rate as an R vector
#'
#' The one-cycle policy of Smith and Topin (2019), numerically identical to PyTorch's
#' `OneCycleLR` (or, with `preset = "fastai"`, to fastai's `fit_one_cycle()`): the
#' learning rate warms up from `max_lr / div_factor` to `max_lr` over the first
#' `pct_start` of the steps, then anneals (cosine or linear) to
#' `max_lr / (div_factor * final_div_factor)`. With `three_phase = TRUE` it first comes
#' back down to the initial rate symmetrically, then anneals to the minimum. Momentum
#' moves the other way, from `momentum[1]` down to `momentum[2]` at the peak and back.
#'
#' @param total_iterations (whole number) Number of training steps, `>= 2`; the schedule
#'   is evaluated at steps `0, ..., total_iterations - 1`.
#' @param max_lr (number) Peak learning rate, `> 0`.
#' @param pct_start (number) Fraction of the steps spent warming up, in `(0, 1]`.
#' @param div_factor (number) The initial rate is `max_lr / div_factor`; `> 0`.
#' @param final_div_factor (number) The final rate is `max_lr / (div_factor *
#'   final_div_factor)`; `> 0`.
#' @param anneal_strategy (string) `"cos"` or `"linear"`.
#' @param three_phase (logical) Use the three-phase variant.
#' @param momentum (numeric of length 2 or `NULL`) `c(high, low)`: momentum at the
#'   initial/final rate and at the peak (PyTorch's `max_momentum`, `base_momentum`),
#'   in `[0, 1]`, `high >= low`. `NULL` to leave momentum out.
#' @param preset (string or `NULL`) `"pytorch"` or `"fastai"`: parameter presets (the
#'   defaults of `torch.optim.lr_scheduler.OneCycleLR`, or fastai 2.x's `fit_one_cycle()`
#'   step for step: 25% warm-up towards a final rate of `max_lr / 1e5`, momentum 0.95 ->
#'   0.85 -> 0.95, each step `k` of `n` evaluated at fastai's position `k / n`, so the
#'   peak falls at step `0.25 * n` and the last step stays above the final rate; see
#'   `kerasclr.policies.one_cycle_lr` for both conventions). Arguments you supply override
#'   the preset.
#'
#' @returns A numeric vector of `total_iterations` learning rates of class
#'   `c("kerasclr_schedule", "numeric")` with attributes `"iteration"` (`0, ...,
#'   total_iterations - 1`), `"policy"` and `"momentum"` (unless `momentum = NULL`).
#' @references Smith, L. N. and Topin, N. (2019). Super-convergence: very fast training of
#'   neural networks using large learning rates. \doi{10.1117/12.2520589}
#' @family schedules
#' @examplesIf reticulate::py_module_available("numpy")
#' lr <- one_cycle_lr(1000, max_lr = 0.01)
#' lr
#' plot(lr, log = "y")
#' one_cycle_lr(1000, max_lr = 0.01, preset = "fastai")
#' @export
one_cycle_lr <- function(total_iterations, max_lr, pct_start = 0.3, div_factor = 25,
                         final_div_factor = 1e4, anneal_strategy = c("cos", "linear"),
                         three_phase = FALSE, momentum = c(0.95, 0.85), preset = NULL) {
  if (missing(total_iterations)) stop("`total_iterations` is missing, with no default.", call. = FALSE)
  if (missing(max_lr)) stop("`max_lr` is missing, with no default.", call. = FALSE)
  from_preset <- check_preset(preset)
  args <- one_cycle_user_args(names(match.call())[-1], from_preset, total_iterations, max_lr,
                              pct_start, div_factor, final_div_factor, anneal_strategy, three_phase)
  check_momentum(momentum)
  use_preset_momentum <- from_preset && missing(momentum)

  policies <- policies_py()
  if (from_preset) args <- fill_from_preset(args, preset, policies)
  mom_args <- if (use_preset_momentum) preset_momentum(preset, policies) else momentum_args(momentum)
  iteration <- seq_len(args$total_steps) - 1L
  lr <- policy_values("one_cycle_lr", iteration, args)
  mom <- NULL
  if (!is.null(mom_args)) mom <- policy_values("one_cycle_momentum", iteration, c(args, mom_args))
  policy <- sprintf("one-cycle (%s%s%s)", args$anneal_strategy %||% "cos",
                    if (isTRUE(args$three_phase)) ", three-phase" else "",
                    if (identical(args$convention, "fastai")) ", fastai's steps" else "")
  new_schedule(lr, iteration, policy = policy, momentum = mom)
}

#' Cyclical learning rate as a Keras schedule object
#'
#' A `kerasclr.schedules.CyclicSchedule`: a Keras 3 `LearningRateSchedule` that
#' computes the cyclical learning rate of [cyclic_lr()] inside the optimizer, from its
#' step counter, on any backend. Pass it as the `learning_rate` of an optimizer, e.g.
#' `keras$optimizers$SGD(learning_rate = learning_rate_schedule_cyclic(...))`. The
#' schedule is evaluated in float32 with `keras.ops`; it matches [cyclic_lr()] to float32
#' precision. It cannot cycle momentum: use [callback_cyclic_lr()] for that. It is a Keras 3
#' schedule: a Keras 2 optimizer (`tf_keras`, the old R `keras` package) refuses it with an
#' error that says to use [callback_cyclic_lr()], which drives Keras 2 optimizers too.
#'
#' @inheritParams cyclic_lr
#' @param scale_fn (Python callable or `NULL`) A custom scaling written with `keras.ops`.
#'   An R function cannot run inside the compiled training graph: use
#'   `callback_cyclic_lr(scale_fn = ...)`, which evaluates it in R, or a named `mode`.
#' @returns A Python object of class `kerasclr.schedules.CyclicSchedule` (a
#'   `keras.optimizers.schedules.LearningRateSchedule`).
#' @section Saving and loading:
#' A model compiled with the schedule is saved with it (`model$save("model.keras")`, or
#' keras3's `save_model()`) and loads in a new R session with `keras$saving$load_model()`
#' or keras3's `load_model()` once kerasclr is attached: `library(kerasclr)` imports
#' kerasclr's Python package as soon as Python's `keras` is imported, which registers the
#' schedule classes (`"kerasclr>CyclicSchedule"`, `"kerasclr>OneCycleSchedule"`). Training
#' then continues at the saved step, exactly as an uninterrupted run. This uses
#' reticulate's module load hook, exported as `py_register_load_hook()` since reticulate
#' 1.42; with older versions (Debian 12 has 1.28) kerasclr sets the same hook itself, with the
#' same effect. reticulate runs it after an import of `keras` made from R (keras3,
#' `reticulate::import("keras")`, `tf$keras`), and kerasclr's Python package also watches
#' for `keras` from the moment it is imported. From Python, `import kerasclr` (before or
#' after `import keras`) is enough.
#' @family schedules
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' schedule <- learning_rate_schedule_cyclic(base_lr = 1e-3, max_lr = 1e-2, step_size = 100)
#' optimizer <- keras$optimizers$SGD(learning_rate = schedule, momentum = 0.9)
#' @export
learning_rate_schedule_cyclic <- function(base_lr = 0.001, max_lr = 0.006, step_size = 2000,
                                          mode = "triangular", gamma = 1, scale_fn = NULL,
                                          scale_mode = NULL, tail = 0, ..., step_size_up = NULL,
                                          step_size_down = NULL,
                                          tail_scope = c("cycle", "schedule"),
                                          tail_divisor = c(1.1, 1.2), total_iterations = NULL) {
  check_dots_empty(...)
  args <- cyclic_args_of(environment(), in_graph = TRUE)
  keras_py()
  schedules <- kerasclr_py_module("schedules")
  py_call(do.call(schedules$CyclicSchedule, args))
}

#' One-cycle learning rate as a Keras schedule object
#'
#' A `kerasclr.schedules.OneCycleSchedule`: a Keras 3 `LearningRateSchedule` that
#' computes the one-cycle learning rate of [one_cycle_lr()] inside the optimizer, on any
#' backend (float32, `keras.ops`). After `total_iterations` steps it holds the final rate.
#' It cannot cycle momentum: use [callback_one_cycle()] for that.
#'
#' @inheritParams one_cycle_lr
#' @param preset (string or `NULL`) `"pytorch"` or `"fastai"`, see [one_cycle_lr()].
#' @returns A Python object of class `kerasclr.schedules.OneCycleSchedule` (a
#'   `keras.optimizers.schedules.LearningRateSchedule`).
#' @inheritSection learning_rate_schedule_cyclic Saving and loading
#' @family schedules
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' schedule <- learning_rate_schedule_one_cycle(total_iterations = 1000, max_lr = 0.01)
#' optimizer <- keras$optimizers$SGD(learning_rate = schedule)
#' @export
learning_rate_schedule_one_cycle <- function(total_iterations, max_lr, pct_start = 0.3,
                                             div_factor = 25, final_div_factor = 1e4,
                                             anneal_strategy = c("cos", "linear"),
                                             three_phase = FALSE, preset = NULL) {
  if (missing(total_iterations)) stop("`total_iterations` is missing, with no default.", call. = FALSE)
  if (missing(max_lr)) stop("`max_lr` is missing, with no default.", call. = FALSE)
  from_preset <- check_preset(preset)
  args <- one_cycle_user_args(names(match.call())[-1], from_preset, total_iterations, max_lr,
                              pct_start, div_factor, final_div_factor, anneal_strategy, three_phase)
  keras_py()
  if (from_preset) args <- fill_from_preset(args, preset, policies_py())
  schedules <- kerasclr_py_module("schedules")
  py_call(do.call(schedules$OneCycleSchedule, args))
}

#' @export
print.kerasclr_schedule <- function(x, ...) {
  values <- as.numeric(x)
  iteration <- attr(x, "iteration", exact = TRUE)
  cat(sprintf("<kerasclr_schedule> %s learning rate, %d step%s", attr(x, "policy", exact = TRUE) %||% "",
              length(values), if (length(values) == 1) "" else "s"))
  if (length(iteration) == length(values) && length(values) > 0) {
    cat(sprintf(" (iterations %s to %s)", format(min(iteration)), format(max(iteration))))
  }
  cat("\n")
  if (length(values) > 0) {
    cat(sprintf("  learning rate: %s to %s\n", format_lr(min(values)), format_lr(max(values))))
  }
  momentum <- attr(x, "momentum", exact = TRUE)
  if (!is.null(momentum)) {
    cat(sprintf("  momentum:      %s to %s\n", format_lr(min(momentum)), format_lr(max(momentum))))
  }
  invisible(x)
}

#' Plot a learning-rate schedule
#'
#' Base-graphics plot of the learning rate against the iteration, with the momentum on a
#' second panel when the schedule has one.
#'
#' @param x (`kerasclr_schedule`) A schedule from [cyclic_lr()] or [one_cycle_lr()].
#' @param log (string) `"y"` for a logarithmic learning-rate axis (useful with a tail or
#'   the one-cycle policy), `""` for linear.
#' @param type,xlab,ylab,main Passed to [graphics::plot()].
#' @param ... Further graphical parameters for [graphics::plot()].
#' @returns `x`, invisibly.
#' @family schedules
#' @examplesIf reticulate::py_module_available("numpy")
#' plot(one_cycle_lr(500, max_lr = 0.1), log = "y")
#' @export
plot.kerasclr_schedule <- function(x, log = "", type = "l", xlab = "iteration",
                                   ylab = "learning rate", main = attr(x, "policy", exact = TRUE),
                                   ...) {
  if (!(is.character(log) && length(log) == 1 && log %in% c("", "y"))) {
    arg_error("log", "\"\" or \"y\"", log)
  }
  values <- as.numeric(x)
  iteration <- attr(x, "iteration", exact = TRUE)
  if (length(iteration) != length(values)) iteration <- seq_along(values) - 1
  momentum <- attr(x, "momentum", exact = TRUE)
  if (!is.null(momentum)) {
    old <- graphics::par(mfrow = c(2, 1), mar = c(4, 4, 2, 1))
    on.exit(graphics::par(old), add = TRUE)
  }
  graphics::plot(iteration, values, type = type, log = log, xlab = xlab, ylab = ylab,
                 main = main, ...)
  if (!is.null(momentum)) {
    graphics::plot(iteration, momentum, type = type, xlab = xlab, ylab = "momentum", ...)
  }
  invisible(x)
}

# ---------------------------------------------------------------------------
# Argument preparation shared with the callbacks (R/callbacks.R).
# ---------------------------------------------------------------------------

CLR_MODES <- c("triangular", "triangular2", "exp_range", "sinus", "halfcosine")
ONE_CYCLE_PRESETS <- c("pytorch", "fastai")

#' Checks the arguments of the cyclical policy and returns the Python keyword arguments
#'
#' The arguments documented as "or `NULL`" (`scale_fn`, `scale_mode`, `step_size_up`,
#' `step_size_down`, `total_iterations`) may be `NULL`, meaning "not supplied": they are
#' left out of the result so that the Python default applies. Any other `NULL` is an error
#' naming the argument. Used by [cyclic_lr()], [learning_rate_schedule_cyclic()] and
#' [callback_cyclic_lr()], which forward every cycle argument (see `cyclic_args_of()`).
#'
#' @param in_graph (logical) `TRUE` when the schedule runs inside the compiled training
#'   graph, where an R `scale_fn` cannot run.
#' @param step_size_from_fit (logical) `TRUE` when `step_size = NULL` is allowed: the
#'   callback then takes it from the first `fit()`.
#' @returns A named list of checked, coerced keyword arguments for
#'   `kerasclr.policies.cyclic_lr()` / `kerasclr.schedules.CyclicSchedule`. An R
#'   `scale_fn` is wrapped so that its errors name `scale_fn`.
#' @keywords internal
#' @noRd
cyclic_args <- function(base_lr, max_lr, step_size, mode, gamma, scale_fn = NULL,
                        scale_mode = NULL, tail, step_size_up = NULL, step_size_down = NULL,
                        tail_scope, tail_divisor, total_iterations = NULL, in_graph = FALSE,
                        step_size_from_fit = FALSE) {
  check_number(base_lr, "base_lr", min = 0)
  check_number(max_lr, "max_lr", min = 0)
  if (max_lr < base_lr) {
    stop(sprintf("`max_lr` must be >= `base_lr` (%s), not %s.", format(base_lr), format(max_lr)),
         call. = FALSE)
  }
  check_number(step_size, "step_size", min = 0, min_inclusive = FALSE, null_ok = step_size_from_fit)
  check_number(step_size_up, "step_size_up", min = 0, min_inclusive = FALSE, null_ok = TRUE)
  check_number(step_size_down, "step_size_down", min = 0, min_inclusive = FALSE, null_ok = TRUE)
  check_choice(mode, "mode", CLR_MODES)
  check_number(gamma, "gamma", min = 0, min_inclusive = FALSE, max = 1)
  if (!is.null(scale_mode)) check_choice(scale_mode, "scale_mode", c("cycle", "iterations"))
  check_number(tail, "tail", min = 0, integer = TRUE)
  check_choice(tail_scope, "tail_scope", c("cycle", "schedule"))
  ok <- is.numeric(tail_divisor) && length(tail_divisor) == 2 && all(is.finite(tail_divisor)) &&
    all(tail_divisor > 0)
  if (!ok) {
    stop(sprintf("`tail_divisor` must be two positive numbers c(factor, base), not %s.",
                 describe_values(tail_divisor)), call. = FALSE)
  }
  check_number(total_iterations, "total_iterations", min = 1, integer = TRUE, null_ok = TRUE)

  # The tail must fit in a cycle (when the cycle length is known here; else Python checks).
  up <- step_size_up %||% step_size
  cycle_length <- if (!is.null(up)) up + (step_size_down %||% up)
  tail_on <- tail > 0
  if (tail_on && identical(tail_scope, "cycle") && !is.null(cycle_length) &&
      tail > cycle_length) {
    stop(sprintf("`tail` must be <= the cycle length (%s steps), not %s.", format(cycle_length),
                 format(tail)), call. = FALSE)
  }
  if (tail_on && identical(tail_scope, "schedule") && is.null(total_iterations)) {
    stop("`total_iterations` is needed when `tail_scope = \"schedule\"` and `tail > 0`.",
         call. = FALSE)
  }
  if (tail_on && identical(tail_scope, "schedule") && tail > total_iterations) {
    stop(sprintf("`tail` must be <= `total_iterations` (%s), not %s.", format(total_iterations),
                 format(tail)), call. = FALSE)
  }

  # A Python callable (an R function too, for reticulate) is passed as it is.
  if (!is.null(scale_fn) && !inherits(scale_fn, "python.builtin.object")) {
    if (is.function(scale_fn)) {
      if (in_graph) {
        stop(paste(
          "`scale_fn` is an R function, which cannot run inside the compiled training graph of a",
          "schedule object. Use `callback_cyclic_lr(scale_fn = ...)`, which evaluates it in R",
          "at each batch, or one of the named modes (`mode = \"triangular2\"`, ...)."
        ), call. = FALSE)
      }
      scale_fn <- wrap_scale_fn(scale_fn)
    } else {
      arg_error("scale_fn", "a function or NULL", scale_fn)
    }
  }

  drop_null(list(
    base_lr = as_py_double(base_lr), max_lr = as_py_double(max_lr),
    step_size = as_py_double(step_size), mode = mode, gamma = as_py_double(gamma),
    scale_fn = scale_fn, scale_mode = scale_mode, step_size_up = as_py_double(step_size_up),
    step_size_down = as_py_double(step_size_down), tail = as_py_int(tail),
    tail_scope = tail_scope, tail_divisor = as.list(as.double(tail_divisor)),
    total_iterations = as_py_int(total_iterations)
  ))
}

# The arguments of the cyclical policy, as named in cyclic_lr(), learning_rate_schedule_cyclic()
# and callback_cyclic_lr().
CYCLE_ARG_NAMES <- c("base_lr", "max_lr", "step_size", "mode", "gamma", "scale_fn", "scale_mode",
                     "tail", "step_size_up", "step_size_down", "tail_scope", "tail_divisor",
                     "total_iterations")

# cyclic_args() applied to the cycle arguments of the calling function (`frame`).
cyclic_args_of <- function(frame, in_graph = FALSE, step_size_from_fit = FALSE) {
  args <- mget(CYCLE_ARG_NAMES, envir = frame)
  args$tail_scope <- match_choice(args$tail_scope, "tail_scope", c("cycle", "schedule"))
  do.call(cyclic_args, c(args, list(in_graph = in_graph, step_size_from_fit = step_size_from_fit)))
}

#' Checks the arguments of the one-cycle policy and returns the Python keyword arguments
#'
#' `total_steps = NULL` means "from the first fit()" ([callback_one_cycle()]); any other
#' `NULL` is an error naming the argument. Used by [one_cycle_lr()],
#' [learning_rate_schedule_one_cycle()] (through `one_cycle_user_args()`) and
#' [callback_one_cycle()].
#'
#' @param total_name (string) The name of `total_steps` in the calling function, for
#'   the error messages (`"total_iterations"` in [one_cycle_lr()]).
#' @returns A named list of keyword arguments for `kerasclr.policies.one_cycle_lr()` /
#'   `kerasclr.schedules.OneCycleSchedule` (`total_steps`, `max_lr`, `pct_start`, ...).
#'   Momentum is separate: see `check_momentum()` and `momentum_args()`.
#' @keywords internal
#' @noRd
one_cycle_args <- function(total_steps, max_lr, pct_start, div_factor, final_div_factor,
                           anneal_strategy, three_phase, total_name = "total_steps") {
  check_number(total_steps, total_name, min = 2, integer = TRUE, null_ok = TRUE)
  check_number(max_lr, "max_lr", min = 0, min_inclusive = FALSE)
  check_number(pct_start, "pct_start", min = 0, min_inclusive = FALSE, max = 1)
  check_number(div_factor, "div_factor", min = 0, min_inclusive = FALSE)
  check_number(final_div_factor, "final_div_factor", min = 0, min_inclusive = FALSE)
  check_choice(anneal_strategy, "anneal_strategy", c("cos", "linear"))
  check_flag(three_phase, "three_phase")
  drop_null(list(
    total_steps = as_py_int(total_steps), max_lr = as_py_double(max_lr),
    pct_start = as_py_double(pct_start), div_factor = as_py_double(div_factor),
    final_div_factor = as_py_double(final_div_factor), anneal_strategy = anneal_strategy,
    three_phase = three_phase
  ))
}

# `momentum = c(high, low)`: NULL, or two numbers in [0, 1] with high >= low.
check_momentum <- function(momentum, name = "momentum") {
  if (is.null(momentum)) return(invisible(NULL))
  ok <- is.numeric(momentum) && length(momentum) == 2 && all(is.finite(momentum)) &&
    all(momentum >= 0 & momentum <= 1)
  if (!ok) {
    stop(sprintf("`%s` must be NULL or two numbers c(high, low) between 0 and 1, not %s.", name,
                 describe_values(momentum)), call. = FALSE)
  }
  if (momentum[[1]] < momentum[[2]]) {
    stop(sprintf("`%s` must be c(high, low) with high >= low, not c(%s, %s).", name,
                 format(momentum[[1]]), format(momentum[[2]])), call. = FALSE)
  }
  invisible(momentum)
}

# The Python keyword arguments of `momentum = c(high, low)` (PyTorch's names).
momentum_args <- function(momentum) {
  if (is.null(momentum)) return(NULL)
  list(max_momentum = as.double(momentum[[1]]), base_momentum = as.double(momentum[[2]]))
}

# ---------------------------------------------------------------------------
# Internal helpers
# ---------------------------------------------------------------------------

# Arguments after `...` must be named: catches `cyclic_lr(x, 1e-3, 6e-3, 200, "triangular",
# 1, NULL, NULL, 0, 30)` and misspelt names.
check_dots_empty <- function(...) {
  if (...length() == 0) return(invisible(NULL))
  names <- names(list(...))
  what <- if (is.null(names) || all(!nzchar(names))) {
    sprintf("%d unnamed argument%s", ...length(), if (...length() > 1) "s" else "")
  } else {
    paste0("`", names[nzchar(names)], "`", collapse = ", ")
  }
  stop(sprintf("Unknown or misplaced argument%s: %s. Arguments after `...` must be named.",
               if (...length() > 1) "s" else "", what), call. = FALSE)
}

# match.arg() with an error that names the argument and lists the choices.
match_choice <- function(x, name, choices) {
  if (identical(x, choices)) return(choices[[1]])
  check_choice(x, name, choices)
}

# Short numeric vectors shown as c(...) in error messages, others as describe() does.
describe_values <- function(x) {
  if (is.numeric(x) && length(x) >= 2 && length(x) <= 4) {
    return(sprintf("c(%s)", paste(vapply(x, format, ""), collapse = ", ")))
  }
  describe(x)
}

drop_null <- function(x) x[!vapply(x, is.null, logical(1))]

as_py_double <- function(x) if (is.null(x)) NULL else as.double(x)

# The kerasclr.policies module, without automatic conversion of results (see policy_values()).
policies_py <- function() {
  kerasclr_py()
  if (is.null(.kerasclr$policies_raw)) {
    .kerasclr$policies_raw <- py_call(reticulate::import("kerasclr.policies", convert = FALSE))
  }
  .kerasclr$policies_raw
}

# A 1-d array: reticulate hands an R array to NumPy without a copy (a plain vector would
# become a Python list, element by element). Integers stay integers (no R-side copy).
as_py_array <- function(x) {
  if (!is.integer(x)) x <- as.double(x)
  dim(x) <- length(x)
  x
}

# Evaluates the policy `name` of kerasclr.policies (with keyword arguments `args`) at
# `iteration` and returns a plain double vector. NumPy writes the values straight into a
# new R vector, which saves reticulate's conversion of the result, and the policy runs on
# chunks of POLICY_CHUNK steps: its temporaries (512 KiB each) are then reused from the
# heap and stay in the CPU cache, instead of a fresh 8 MB array being mapped and
# page-faulted for every operation on 1e6 steps. Measured on cyclic_lr(1:1e6): 7.9 ms
# with chunks of 65536 steps, 8.3-9.4 ms with 8192-262144, 12.7 ms unchunked. An R
# `scale_fn` is called only once, on the whole vector, so with one there is one chunk.
policy_values <- function(name, iteration, args) {
  n <- length(iteration)
  out <- numeric(n)
  dim(out) <- n
  chunk <- if (is.null(args$scale_fn)) min(n, POLICY_CHUNK) else n
  policy <- reticulate::py_get_attr(policies_py(), name)
  written <- py_call(evaluate_into_r()(out, policy, as_py_array(iteration), args, as.integer(chunk)))
  if (!isTRUE(written)) out <- written  # reticulate had copied `out`: use the returned values
  dim(out) <- NULL
  out
}

POLICY_CHUNK <- 65536L

# kerasclr._r_bridge.evaluate_into(): writes the values into the R vector `out`.
evaluate_into_r <- function() {
  if (is.null(.kerasclr$evaluate_into_r)) {
    .kerasclr$evaluate_into_r <- kerasclr_py_module("_r_bridge")$evaluate_into
  }
  .kerasclr$evaluate_into_r
}

new_schedule <- function(lr, iteration, policy, momentum = NULL) {
  structure(lr, class = c("kerasclr_schedule", "numeric"), iteration = iteration,
            policy = policy, momentum = momentum)
}

# Wraps an R scale_fn for Python: called once on the whole vector; R errors and
# non-numeric results become errors naming `scale_fn`; the result goes back as an array.
wrap_scale_fn <- function(scale_fn) {
  force(scale_fn)
  function(x) {
    value <- tryCatch(scale_fn(as.vector(x)), error = function(e) {
      stop(sprintf("`scale_fn` failed: %s (it must be a vectorized function of one argument).",
                   conditionMessage(e)), call. = FALSE)
    })
    if (!(is.numeric(value) || is.logical(value))) {
      stop(sprintf("`scale_fn` must return numbers, not %s.", describe(value)), call. = FALSE)
    }
    value <- as.double(value)
    if (length(value) != 1 && length(value) != length(x)) {
      stop(sprintf("`scale_fn` must return one value per input (or a single value), not %d values for %d inputs.",
                   length(value), length(x)), call. = FALSE)
    }
    if (length(value) > 1) dim(value) <- length(value)
    value
  }
}

# Preset values (kerasclr.policies.ONE_CYCLE_PRESETS) for the arguments left out.
fill_from_preset <- function(args, preset, policies) {
  values <- reticulate::py_to_r(policies$ONE_CYCLE_PRESETS)[[preset]]
  lr_names <- c("pct_start", "div_factor", "final_div_factor", "anneal_strategy", "three_phase",
                "convention")
  for (name in lr_names) if (is.null(args[[name]])) args[[name]] <- values[[name]]
  args
}

preset_momentum <- function(preset, policies) {
  values <- reticulate::py_to_r(policies$ONE_CYCLE_PRESETS)[[preset]]
  list(max_momentum = values$max_momentum, base_momentum = values$base_momentum)
}

# Learning rates (and momenta) for printing: 3 significant digits, "NA" for missing.
format_lr <- function(x) ifelse(is.na(x), "NA", trimws(formatC(x, format = "g", digits = 3)))

# TRUE when a one-cycle `preset` is given (and valid).
check_preset <- function(preset) {
  if (is.null(preset)) return(FALSE)
  check_choice(preset, "preset", ONE_CYCLE_PRESETS)
  TRUE
}

# The checked Python arguments of the one-cycle functions. With a preset, the arguments the
# user did not supply (`supplied`: the names in the call) are left to the preset.
one_cycle_user_args <- function(supplied, from_preset, total_iterations, max_lr, pct_start,
                                div_factor, final_div_factor, anneal_strategy, three_phase) {
  check_number(total_iterations, "total_iterations", min = 2, integer = TRUE)
  args <- one_cycle_args(
    total_steps = total_iterations, max_lr = max_lr, pct_start = pct_start,
    div_factor = div_factor, final_div_factor = final_div_factor,
    anneal_strategy = match_choice(anneal_strategy, "anneal_strategy", c("cos", "linear")),
    three_phase = three_phase, total_name = "total_iterations"
  )
  from_user <- c("pct_start", "div_factor", "final_div_factor", "anneal_strategy", "three_phase")
  if (from_preset) args[setdiff(from_user, supplied)] <- NULL
  args
}
