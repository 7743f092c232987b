# The whole workflow in one call: fit_one_cycle(). The pipeline itself is Python's
# kerasclr.pipeline.fit_one_cycle(); this file checks arguments and converts R data as
# lr_range_test() does, and turns the result into R objects.

#' Find the learning rate, then train with the one-cycle policy, in one call
#'
#' Runs [lr_range_test()] on the training data (the model is put back exactly as it was),
#' then trains the model with [callback_one_cycle()] for `epochs` epochs, its `max_lr` being
#' the range test's `$lr_range[2]` (see [lr_range_test()] for the rule that reads the
#' curve) and its other settings the callback's defaults unless given in
#' `one_cycle_args`. This is what fastai's `lr_find()` followed by `fit_one_cycle()`
#' does. When the range test's smoothed loss did not fall at all (the model did not learn
#' within the test's steps), a second test with three times as many steps replaces it.
#' The range test and the training see the same data, batch size and optimizer settings
#' (momentum or `beta_1` included), so the rate found is the one the training can take.
#'
#' @param model (Keras model) A compiled Keras 3 model (keras3 or `reticulate::import("keras")`).
#' @param x,y Training data, R data or a dataset, as for [lr_range_test()] (see
#'   [kerasclr-data]).
#' @param epochs (whole number) The length of the cycle, in epochs, `>= 1`.
#' @param batch_size (whole number) Batch size for R or array data, in the range test and in
#'   training.
#' @param max_lr (number or `NULL`) A peak learning rate to use instead of the range
#'   test's; then no range test is run.
#' @param range_test_args (named list) Further arguments of [lr_range_test()], e.g.
#'   `list(num_iter = 200, end_lr = 1)`.
#' @param one_cycle_args (named list) Further arguments of [callback_one_cycle()], e.g.
#'   `list(pct_start = 0.25, momentum = c(0.95, 0.85))`.
#' @param callbacks (list) More callbacks for the training `fit()`.
#' @param verbose (logical or whole number) `fit()`'s verbosity; the range test shows its
#'   progress bar unless it is `0`/`FALSE`.
#' @param ... Passed on to the training `fit()`: `validation_data`, `validation_split`,
#'   `shuffle`, `class_weight`, ...
#'
#' @returns An object of class `"kerasclr_fit_one_cycle"`: a list with `history` (the
#'   Keras `History` of the training `fit()`; `history$history` holds the per-epoch
#'   metrics), `metrics` (the same as a data frame, one row per epoch), `range_test` (the
#'   [lr_range_test()] result used, `NULL` with `max_lr`), `one_cycle` (the callback, with
#'   its per-batch history: `as.data.frame()`, `plot()`), `max_lr` and `range_test_steps`
#'   (the training steps the range tests took).
#' @family callbacks
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' digits <- reticulate::import("sklearn.datasets")$load_digits()
#' x <- digits$data / 16
#' y <- as.integer(digits$target)
#' model <- keras$Sequential(list(keras$Input(shape = list(64L)),
#'                                keras$layers$Dense(64L, activation = "relu"),
#'                                keras$layers$Dense(10L, activation = "softmax")))
#' model$compile(optimizer = keras$optimizers$SGD(momentum = 0.9),
#'               loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
#' fit <- fit_one_cycle(model, x, y, epochs = 3, verbose = 0)
#' fit
#' plot(fit$one_cycle)
#' @export
fit_one_cycle <- function(model, x, y = NULL, epochs = 1, batch_size = 32, max_lr = NULL,
                          range_test_args = list(), one_cycle_args = list(),
                          callbacks = list(), verbose = TRUE, ...) {
  if (missing(model)) stop("`model` must be a compiled Keras model, not missing.", call. = FALSE)
  if (missing(x)) stop("`x` must be training data, not missing.", call. = FALSE)
  check_number(epochs, "epochs", min = 1, integer = TRUE)
  check_number(batch_size, "batch_size", min = 1, integer = TRUE)
  check_number(max_lr, "max_lr", min = 0, min_inclusive = FALSE, null_ok = TRUE)
  own_args <- c("model", "x", "y", "batch_size", "verbose")  # what fit_one_cycle() sets
  check_named_list(range_test_args, "range_test_args", own_args)
  check_named_list(one_cycle_args, "one_cycle_args", c("max_lr", "total_iterations"))
  if (!is.null(max_lr) && length(range_test_args)) {
    stop("Give `max_lr` or `range_test_args`, not both.", call. = FALSE)
  }
  if (!is.list(callbacks) || inherits(callbacks, "python.builtin.object")) {
    arg_error("callbacks", "a list of callbacks", callbacks)
  }
  if (!(isTRUE(verbose) || isFALSE(verbose) ||
        (is.numeric(verbose) && length(verbose) == 1 && verbose %in% 0:2))) {
    arg_error("verbose", "TRUE, FALSE, 0, 1 or 2", verbose)
  }
  # Every argument checked in R, before any training: the callback's, the range test's
  # (its data converted once, for both phases) and the training fit()'s.
  one_cycle <- do.call(one_cycle_callback_args, c(list(max_lr = max_lr %||% 1), one_cycle_args))
  one_cycle$max_lr <- NULL
  test <- do.call(range_test_py_args, c(list(model = model, x = x, y = y, batch_size = batch_size,
                                            verbose = !isFALSE(verbose) && verbose != 0),
                                       range_test_args))
  # The data were converted once, above; the training fit() takes them with its own extras.
  extra <- list(...)
  fit <- fit_extra_args(model, y, extra$validation_data, extra[names(extra) != "validation_data"],
                        is.function(x) || inherits(x, "python.builtin.generator"))
  if (is.null(fit$validation_data)) fit$validation_data <- NULL
  # Only what the user gave reaches Python's range test: its own defaults stay its own.
  range_args <- test[setdiff(intersect(names(test), names(range_test_args)), own_args)]
  pipeline <- kerasclr_py_module("pipeline")
  # An interrupt (Ctrl+C) can unwind Python's frames without their cleanup: put the model back.
  on.exit(kerasclr_py_module("range_test")$restore_unfinished(), add = TRUE)
  result <- py_call(do.call(pipeline$fit_one_cycle, c(
    list(model, test$x, test$y, epochs = as.integer(epochs), batch_size = as.integer(batch_size),
         max_lr = max_lr, range_test_args = if (length(range_args)) range_args,
         one_cycle_args = one_cycle,
         callbacks = callbacks, verbose = as.integer(verbose)),
    fit)))
  history <- result$history$history
  if (inherits(history, "python.builtin.object")) history <- reticulate::py_to_r(history)
  metrics <- as.data.frame(lapply(history, function(v) as.numeric(unlist(v))))
  range_test <- if (!is.null(result$range_test)) new_lr_range_test(result$range_test)
  if (!is.null(range_test)) warn_exhausted(range_test)
  structure(list(history = result$history, metrics = cbind(epoch = seq_len(nrow(metrics)), metrics),
                 range_test = range_test, one_cycle = result$one_cycle,
                 max_lr = as.numeric(result$max_lr),
                 range_test_steps = as.integer(result$range_test_steps)),
            class = "kerasclr_fit_one_cycle")
}

#' @export
print.kerasclr_fit_one_cycle <- function(x, ...) {
  m <- x$metrics
  cat(sprintf("<fit_one_cycle> %d epoch%s of one-cycle training, max_lr = %s (%s)\n",
              nrow(m), if (nrow(m) == 1) "" else "s", format_lr(x$max_lr),
              if (is.null(x$range_test)) "given" else
                sprintf("from the range test, %d steps", x$range_test_steps)))
  cat("Last epoch:", paste(sprintf("%s = %s", names(m)[-1],
                                   formatC(unlist(m[nrow(m), -1]), digits = 4, format = "g")),
                           collapse = ", "), "\n")
  invisible(x)
}

# A named list whose names are not among `reserved` (set by the caller).
check_named_list <- function(x, name, reserved) {
  if (!is.list(x) || inherits(x, "python.builtin.object") ||
      (length(x) && (is.null(names(x)) || any(!nzchar(names(x)))))) {
    arg_error(name, "a named list", x)
  }
  own <- intersect(names(x), reserved)
  if (length(own)) {
    stop(sprintf("`%s` must not set `%s`: fit_one_cycle() sets it.", name, own[1]), call. = FALSE)
  }
  invisible(x)
}
