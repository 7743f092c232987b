# Every user-facing function gives an R error naming the argument for NULL, NA, a string or
# a vector where it takes one number, flag or choice; and takes NULL only where its help says
# "or NULL". All of these are raised in R, before any Python call (no Python needed here).

not_a_model <- structure(list(), class = "not_a_model")
x4 <- matrix(seq_len(40) / 40, ncol = 4)
y4 <- rowSums(x4)

# The calls, with valid values for the required arguments, and the arguments that take NULL.
CALLS <- list(
  cyclic_lr = list(args = list(iteration = 0:9),
                   nullable = c("scale_fn", "scale_mode", "step_size_up", "step_size_down",
                                "total_iterations", "momentum")),
  learning_rate_schedule_cyclic = list(args = list(),
                                       nullable = c("scale_fn", "scale_mode", "step_size_up",
                                                    "step_size_down", "total_iterations")),
  callback_cyclic_lr = list(args = list(),
                            nullable = c("step_size", "scale_fn", "scale_mode", "step_size_up",
                                         "step_size_down", "total_iterations", "momentum",
                                         "schedule", "lr_range")),
  one_cycle_lr = list(args = list(total_iterations = 10, max_lr = 0.1),
                      nullable = c("momentum", "preset")),
  learning_rate_schedule_one_cycle = list(args = list(total_iterations = 10, max_lr = 0.1),
                                          nullable = "preset"),
  callback_one_cycle = list(args = list(max_lr = 0.1), nullable = c("total_iterations", "momentum")),
  lr_range_test = list(args = list(model = not_a_model, x = x4, y = y4),
                       nullable = c("validation_data", "weight_decay", "momentum"))
)
# Arguments whose valid values include strings or vectors, or that are data.
OTHER_VALID <- list(iteration = c("NA", "vector"), schedule = "vector", lr_range = "vector",
                    tail_divisor = "vector", weight_decay = "vector", momentum = "vector",
                    x = c("NA", "vector"), y = c("NA", "vector"))

bad_values <- list(`NULL` = NULL, `NA` = NA, string = "0.1", vector = c(0.1, 0.2))

test_that("bad values are R errors naming the argument, in every user-facing function", {
  for (fname in names(CALLS)) {
    f <- getExportedValue("kerasclr", fname)
    spec <- CALLS[[fname]]
    for (arg in setdiff(names(formals(f)), c("...", "keras2"))) {
      for (bad in names(bad_values)) {
        if (bad == "NULL" && arg %in% spec$nullable) next
        if (bad %in% OTHER_VALID[[arg]]) next
        args <- spec$args
        args[arg] <- list(bad_values[[bad]])
        if (fname == "lr_range_test" && arg == "x") args$y <- NULL
        err <- tryCatch({
          do.call(f, args)
          NULL
        }, error = identity)
        label <- sprintf("%s(%s = %s)", fname, arg, bad)
        expect_s3_class(err, "simpleError")
        # "`arg` must ...", "`arg[[2]]` must ...", or for `x` the sample check naming both.
        pattern <- sprintf("^`%s([[][[]|[$])?[^`]*` must", arg)
        if (arg == "x") pattern <- paste0(pattern, "|^`y` must have as many samples as `x`")
        expect_match(conditionMessage(err), pattern,
                     label = label)
      }
    }
  }
})

test_that("NULL where a value is needed names the argument (it reached Python before)", {
  expect_snapshot(error = TRUE, callback_one_cycle(max_lr = NULL))
  expect_snapshot(error = TRUE, callback_one_cycle(0.1, pct_start = NULL))
  expect_snapshot(error = TRUE, callback_cyclic_lr(base_lr = NULL))
  expect_snapshot(error = TRUE, callback_cyclic_lr(mode = NULL))
  expect_snapshot(error = TRUE, cyclic_lr(0:9, tail_divisor = NULL))
  expect_snapshot(error = TRUE, learning_rate_schedule_cyclic(step_size = NULL))
  expect_snapshot(error = TRUE, learning_rate_schedule_one_cycle(NULL, max_lr = 0.1))
  expect_snapshot(error = TRUE, one_cycle_lr(NULL, max_lr = 0.1))
  expect_snapshot(error = TRUE, one_cycle_lr(10, max_lr = 0.1, three_phase = NULL))
  expect_snapshot(error = TRUE, one_cycle_lr(10, max_lr = 0.1, preset = "fastai", div_factor = NA))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, NULL))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, y4, num_iter = NULL))
})

test_that("a preset still fills the arguments that were not given", {
  skip_if_no_python()
  expect_equal(as.numeric(one_cycle_lr(10, max_lr = 0.1, preset = "fastai", three_phase = FALSE)),
               as.numeric(one_cycle_lr(10, max_lr = 0.1, preset = "fastai")))
  expect_false(isTRUE(all.equal(as.numeric(one_cycle_lr(10, max_lr = 0.1, preset = "fastai")),
                                as.numeric(one_cycle_lr(10, max_lr = 0.1)))))
})
