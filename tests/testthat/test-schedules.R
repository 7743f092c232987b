# cyclic_lr() and one_cycle_lr() against the blog's R code (helper-seed.R) and the
# published closed forms; argument errors pinned with snapshots (they need no Python).

max_rel_error <- function(actual, expected) max(abs(as.numeric(actual) - expected) / abs(expected))

# --- Against the seed: every mode ------------------------------------------------------

test_that("cyclic_lr() equals the blog's Cyclic_LR() in every mode", {
  skip_if_no_python()
  n <- 5000
  cases <- list(
    triangular = list(mode = "triangular"),
    triangular2 = list(mode = "triangular2"),
    exp_range = list(mode = "exp_range", gamma = 0.9995),
    sinus = list(mode = "sinus"),
    halfcosine = list(mode = "halfcosine"),
    custom_cycle = list(scale_fn = function(x) 1 / x, scale_mode = "cycle"),
    custom_iterations = list(scale_fn = function(x) 1 / (1 + x / 1000), scale_mode = "iterations")
  )
  for (name in names(cases)) {
    args <- c(list(base_lr = 1e-5, max_lr = 1e-3, step_size = 300), cases[[name]])
    expected <- do.call(seed_cyclic_lr, c(list(iteration = 1:n), args))
    actual <- do.call(cyclic_lr, c(list(1:n), args))
    expect_length(actual, n)
    expect_lte(max_rel_error(actual, expected), 1e-12, label = name)
  }
})

test_that("a custom scale_fn defaults to the cycle, as in the blog", {
  skip_if_no_python()
  expected <- seed_cyclic_lr(1:3000, base_lr = 1e-4, max_lr = 1e-2, step_size = 250,
                             scale_fn = function(x) 1 / x)
  actual <- cyclic_lr(1:3000, base_lr = 1e-4, max_lr = 1e-2, step_size = 250,
                      scale_fn = function(x) 1 / x)
  expect_lte(max_rel_error(actual, expected), 1e-12)
})

test_that("iterations are 0-based: step 0 is the blog's iteration 2 * step_size", {
  skip_if_no_python()
  n <- 200
  expected <- c(1e-7, seed_cyclic_lr(1:(n - 1), base_lr = 1e-7, max_lr = 1e-3, step_size = 100))
  actual <- cyclic_lr(0:(n - 1), base_lr = 1e-7, max_lr = 1e-3, step_size = 100)
  expect_lte(max_rel_error(actual, expected), 1e-12)
  expect_equal(attr(actual, "iteration"), 0:(n - 1))
  expect_equal(actual[[1]], 1e-7)
  expect_equal(actual[[101]], 1e-3)  # the peak, at step step_size
})

# --- The tail -------------------------------------------------------------------------

test_that("the tail divides the blog's last steps by 1.1 * 1.2^i", {
  skip_if_no_python()
  n <- 200
  tail <- 30
  seed <- seed_cyclic_lr(1:n, base_lr = 1e-7, max_lr = 1e-3, step_size = floor(n / 2))
  expected <- seed_apply_tail(seed, tail)
  # The blog's vector covers iterations 1..n: a schedule of n + 1 steps without its step 0.
  actual <- cyclic_lr(1:n, base_lr = 1e-7, max_lr = 1e-3, step_size = floor(n / 2), tail = tail,
                      tail_scope = "schedule", total_iterations = n + 1)
  expect_lte(max_rel_error(actual, expected), 1e-12)
  expect_equal(as.numeric(actual[1:(n - tail)]), seed[1:(n - tail)])
  expect_equal(seed[n] / actual[[n]], 1.1 * 1.2^30, tolerance = 1e-14)
})

test_that("a cycle tail ends every cycle: the blog's workflow, rep() over epochs", {
  skip_if_no_python()
  n <- 200
  nb_epochs <- 10
  tail <- 30
  one_epoch <- cyclic_lr(0:(n - 1), base_lr = 1e-7, max_lr = 1e-3, step_size = n / 2)
  l_rate_cyclical <- seed_apply_tail(as.numeric(one_epoch), tail)
  with_tail <- cyclic_lr(0:(n - 1), base_lr = 1e-7, max_lr = 1e-3, step_size = n / 2, tail = tail)
  expect_lte(max_rel_error(with_tail, l_rate_cyclical), 1e-12)

  # The blog: l_rate <- rep(l_rate_cyclical, nb_epochs), read as l_rate[iter] per batch.
  l_rate <- rep(with_tail, nb_epochs)
  expect_length(l_rate, n * nb_epochs)
  whole_run <- cyclic_lr(0:(n * nb_epochs - 1), base_lr = 1e-7, max_lr = 1e-3, step_size = n / 2,
                         tail = tail)
  expect_lte(max_rel_error(whole_run, l_rate), 1e-12)
  expect_equal(l_rate[n + 1], with_tail[[1]])
  expect_true(is.na(l_rate[length(l_rate) + 1]))  # the blog's "past the end" test
  expect_equal(as.numeric(with_tail / 5), as.numeric(with_tail) / 5)
  expect_true(is.numeric(with_tail))
})

test_that("tail_divisor changes the divisor factor * base^i", {
  skip_if_no_python()
  plain <- cyclic_lr(0:99, step_size = 50)
  tailed <- cyclic_lr(0:99, step_size = 50, tail = 5, tail_divisor = c(2, 3))
  expect_equal(as.numeric(plain / tailed), c(rep(1, 95), 2 * 3^(1:5)), tolerance = 1e-14)
})

# --- Momentum -------------------------------------------------------------------------

test_that("cyclic momentum moves opposite to the learning rate", {
  skip_if_no_python()
  lr <- cyclic_lr(0:399, base_lr = 0.001, max_lr = 0.006, step_size = 100, momentum = c(0.95, 0.85))
  height <- (as.numeric(lr) - 0.001) / (0.006 - 0.001)
  expect_equal(attr(lr, "momentum"), 0.95 - (0.95 - 0.85) * height, tolerance = 1e-12)
  expect_equal(range(attr(lr, "momentum")), c(0.85, 0.95))
  expect_null(attr(cyclic_lr(0:3), "momentum"))
})

# --- One-cycle against the closed form (PyTorch OneCycleLR documentation) ---------------

one_cycle_closed_form <- function(steps, total, max_lr, pct_start = 0.3, div_factor = 25,
                                  final_div_factor = 1e4, anneal = "cos", high = 0.95, low = 0.85) {
  initial <- max_lr / div_factor
  final <- initial / final_div_factor
  anneal_fn <- if (anneal == "cos") {
    function(start, end, pct) end + (start - end) / 2 * (cos(pi * pct) + 1)
  } else {
    function(start, end, pct) (end - start) * pct + start
  }
  peak <- pct_start * total - 1
  up <- steps <= peak
  lr <- ifelse(up, anneal_fn(initial, max_lr, steps / peak),
               anneal_fn(max_lr, final, (steps - peak) / (total - 1 - peak)))
  momentum <- ifelse(up, anneal_fn(high, low, steps / peak),
                     anneal_fn(low, high, (steps - peak) / (total - 1 - peak)))
  list(lr = lr, momentum = momentum)
}

test_that("one_cycle_lr() follows the closed form", {
  skip_if_no_python()
  lr <- one_cycle_lr(100, max_lr = 0.1)
  expected <- one_cycle_closed_form(0:99, 100, 0.1)
  expect_equal(attr(lr, "iteration"), 0:99)
  expect_lte(max_rel_error(lr, expected$lr), 1e-12)
  expect_lte(max_rel_error(attr(lr, "momentum"), expected$momentum), 1e-12)
  # The landmarks: max_lr / 25 at step 0, max_lr at step 0.3 * 100 - 1, max_lr / 25e4 at the end.
  expect_equal(lr[[1]], 0.1 / 25)
  expect_equal(lr[[30]], 0.1)
  expect_equal(lr[[100]], 0.1 / 25 / 1e4, tolerance = 1e-12)
  expect_equal(attr(lr, "momentum")[c(1, 30, 100)], c(0.95, 0.85, 0.95))

  linear <- one_cycle_lr(50, max_lr = 0.02, pct_start = 0.4, anneal_strategy = "linear",
                         div_factor = 10, final_div_factor = 100, momentum = c(0.9, 0.8))
  expected <- one_cycle_closed_form(0:49, 50, 0.02, 0.4, 10, 100, "linear", 0.9, 0.8)
  expect_lte(max_rel_error(linear, expected$lr), 1e-12)
  expect_lte(max_rel_error(attr(linear, "momentum"), expected$momentum), 1e-12)
})

test_that("one_cycle_lr() three-phase comes back to the initial rate before the end", {
  skip_if_no_python()
  lr <- one_cycle_lr(100, max_lr = 0.1, three_phase = TRUE, anneal_strategy = "linear")
  # Phases end at steps 29 (peak), 58 (back to max_lr / 25) and 99 (max_lr / 25e4).
  expect_equal(lr[c(1, 30, 59, 100)], c(0.004, 0.1, 0.004, 0.004 / 1e4), tolerance = 1e-12)
  expect_equal(lr[[45]], 0.1 + (0.004 - 0.1) * 15 / 29, tolerance = 1e-12)
})

test_that("one_cycle_lr() presets fill only the arguments left out", {
  skip_if_no_python()
  # fastai 2.8's fit_one_cycle (fastai/callback/schedule.py): combined_cos(pct_start,
  # lr_max / div, lr_max, lr_max / div_final) at pos = step / total, each cosine phase
  # start + (1 + cos(pi * (1 - p))) * (end - start) / 2 at its fraction p.
  sched_cos <- function(start, end, p) start + (1 + cos(pi * (1 - p))) * (end - start) / 2
  combined_cos <- function(pct, start, middle, end, pos) {
    ifelse(pos < pct, sched_cos(start, middle, pos / pct),
           sched_cos(middle, end, (pos - pct) / (1 - pct)))
  }
  fastai <- one_cycle_lr(100, max_lr = 0.1, preset = "fastai")
  pos <- (0:99) / 100
  expect_lte(max_rel_error(fastai, combined_cos(0.25, 0.1 / 25, 0.1, 0.1 / 1e5, pos)), 1e-10)
  expect_lte(max_rel_error(attr(fastai, "momentum"), combined_cos(0.25, 0.95, 0.85, 0.95, pos)),
             1e-12)
  # By hand: the peak at batch 25 (pos = pct_start), the last rate at pos = 0.99.
  expect_identical(which.max(fastai) - 1L, 25L)
  expect_equal(fastai[[100]], 4.4858e-05, tolerance = 1e-4)
  mine <- one_cycle_lr(100, max_lr = 0.1, preset = "fastai", pct_start = 0.5)
  expect_equal(mine[[51]], 0.1)
  expect_equal(as.numeric(one_cycle_lr(100, 0.1, preset = "pytorch")), as.numeric(one_cycle_lr(100, 0.1)))
  expect_null(attr(one_cycle_lr(10, 0.1, momentum = NULL), "momentum"))
})

# --- Argument errors: checked in R, before any Python call ------------------------------

test_that("cyclic_lr() rejects bad arguments with clear messages", {
  expect_snapshot(error = TRUE, cyclic_lr(1:10, base_lr = -1))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, base_lr = Inf))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, base_lr = "0.1"))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, max_lr = NA_real_))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, base_lr = 0.01, max_lr = 0.001))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, step_size = 0))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, step_size = c(10, 20)))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, step_size_up = -5))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, mode = "triangle"))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, mode = 1))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, mode = "exp_range", gamma = 1.5))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, scale_fn = "1/x"))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, scale_mode = "iteration"))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, tail = 2.5))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, step_size = 10, tail = 21))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, step_size_up = 10, step_size_down = 5, tail = 16))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, tail = 5, tail_scope = "schedule"))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, tail = 5, tail_scope = "schedule", total_iterations = 4))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, tail_scope = "epoch"))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, tail_divisor = 1.2))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, total_iterations = 0))
})

test_that("cyclic_lr() rejects bad iterations, momentum and stray arguments", {
  expect_snapshot(error = TRUE, cyclic_lr(c(1, NA, 3)))
  expect_snapshot(error = TRUE, cyclic_lr(c(1, Inf)))
  expect_snapshot(error = TRUE, cyclic_lr(-1:3))
  expect_snapshot(error = TRUE, cyclic_lr("1:10"))
  expect_snapshot(error = TRUE, cyclic_lr(numeric()))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, momentum = 0.9))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, momentum = c(0.95, 1.2)))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, momentum = c(0.85, 0.95)))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, 0.001, 0.006, 200, "triangular", 1, NULL, NULL, 0, 30))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, step_sise = 30))
})

test_that("one_cycle_lr() rejects bad arguments with clear messages", {
  expect_snapshot(error = TRUE, one_cycle_lr(max_lr = 0.1))
  expect_snapshot(error = TRUE, one_cycle_lr(100))
  expect_snapshot(error = TRUE, one_cycle_lr(1, max_lr = 0.1))
  expect_snapshot(error = TRUE, one_cycle_lr(100.5, max_lr = 0.1))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0.1, pct_start = 1.5))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0.1, div_factor = -25))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0.1, final_div_factor = NaN))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0.1, anneal_strategy = "cosine"))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0.1, three_phase = "yes"))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0.1, momentum = c(0.8, 0.9)))
  expect_snapshot(error = TRUE, one_cycle_lr(100, max_lr = 0.1, preset = "keras"))
})

test_that("the schedule objects check their arguments in R too", {
  expect_snapshot(error = TRUE, learning_rate_schedule_cyclic(scale_fn = function(x) 1 / x))
  expect_snapshot(error = TRUE, learning_rate_schedule_cyclic(step_size = -1))
  expect_snapshot(error = TRUE, learning_rate_schedule_one_cycle(total_iterations = 1, max_lr = 0.1))
  expect_snapshot(error = TRUE, learning_rate_schedule_one_cycle(100, max_lr = 0.1, anneal_strategy = "exp"))
})

test_that("argument errors come from R, with no Python at all", {
  skip_on_cran()
  rscript <- file.path(R.home("bin"), "Rscript")
  code <- paste(
    "library(kerasclr)",
    "msg <- tryCatch(cyclic_lr(1:3, step_size = -1), error = conditionMessage)",
    "cat(msg, reticulate::py_available(initialize = FALSE), sep = '|')",
    sep = "; "
  )
  out <- withr::with_envvar(
    c(RETICULATE_PYTHON = file.path(tempdir(), "no-python", "python"),
      R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep)),
    system2(rscript, c("--vanilla", "-e", shQuote(code)), stdout = TRUE, stderr = TRUE)
  )
  expect_equal(out[length(out)], "`step_size` must be a positive number, not -1.|FALSE")
})

# --- Errors that need Python: scale_fn and the one-cycle phases --------------------------

test_that("a bad R scale_fn gives an R error naming `scale_fn`", {
  skip_if_no_python()
  expect_snapshot(error = TRUE, cyclic_lr(1:10, scale_fn = function(x) x * 10))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, scale_fn = function(x) rep(NaN, length(x))))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, scale_fn = function(x) if (x > 1) 1 else 0.5))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, scale_fn = function(x) c(0.5, 0.5)))
  expect_snapshot(error = TRUE, cyclic_lr(1:10, scale_fn = function(x) "half"))
  # A constant is recycled.
  expect_equal(as.numeric(cyclic_lr(0:9, step_size = 5, scale_fn = function(x) 0.5)),
               0.001 + 0.0025 * c(0:5, 4:1) / 5)
})

test_that("one_cycle_lr() reports an empty phase", {
  skip_if_no_python()
  expect_snapshot(error = TRUE, one_cycle_lr(3, max_lr = 0.1, pct_start = 0.1))
})

# --- print() and plot() ---------------------------------------------------------------

test_that("print() summarises a schedule", {
  skip_if_no_python()
  expect_snapshot(print(cyclic_lr(0:999, base_lr = 1e-4, max_lr = 1e-2, step_size = 250)))
  expect_snapshot(print(one_cycle_lr(1000, max_lr = 0.01)))
  lr <- cyclic_lr(0:9)
  output <- utils::capture.output(result <- withVisible(print(lr)))
  expect_false(result$visible)
  expect_identical(result$value, lr)
})

test_that("plot() draws the schedule, and the momentum on a second panel", {
  skip_if_no_python()
  file <- withr::local_tempfile(fileext = ".png")
  grDevices::png(file)
  before <- graphics::par("mfrow", "mar")
  lr <- cyclic_lr(0:399, step_size = 100, tail = 20, momentum = c(0.95, 0.85))
  expect_invisible(plot(lr, log = "y"))
  expect_identical(plot(one_cycle_lr(100, 0.1, momentum = NULL)), one_cycle_lr(100, 0.1, momentum = NULL))
  expect_equal(graphics::par("mfrow", "mar"), before)  # par() restored
  grDevices::dev.off()
  expect_gt(file.size(file), 1000)
  expect_snapshot(error = TRUE, plot(lr, log = "x"))
})

test_that("results are written into R memory only when NumPy really shares it", {
  skip_if_no_python()
  np <- reticulate::import("numpy", convert = FALSE)
  evaluate_into_r <- kerasclr:::evaluate_into_r()
  policy <- reticulate::py_get_attr(kerasclr:::policies_py(), "cyclic_lr")
  steps <- array(as.double(0:4))
  args <- list(step_size = 2)
  expected <- c(0.001, 0.0035, 0.006, 0.0035, 0.001)
  shared <- array(0, 5)
  expect_true(evaluate_into_r(shared, policy, steps, args, 2L))  # chunks of 2, 2 and 1
  expect_equal(as.numeric(shared), expected)
  # An array that NumPy owns (as if reticulate had copied the R vector): values returned.
  expect_equal(as.numeric(evaluate_into_r(np$zeros(5L), policy, steps, args, 3L)), expected)
  # The R vectors that cyclic_lr() returns are fresh: no aliasing between calls.
  a <- cyclic_lr(0:4, step_size = 2)
  b <- cyclic_lr(0:4, step_size = 4)
  expect_equal(as.numeric(a), expected)
  expect_equal(as.numeric(b), c(0.001, 0.00225, 0.0035, 0.00475, 0.006))
})

test_that("chunked evaluation equals one vectorized call, and scale_fn is called once", {
  skip_if_no_python()
  n <- 3 * 65536 + 17  # several chunks and a partial one
  policies <- reticulate::import("kerasclr.policies")
  whole <- policies$cyclic_lr(array(as.double(0:(n - 1))), base_lr = 1e-4, max_lr = 1e-2,
                              step_size = 1000, mode = "triangular2", tail = 50)
  chunked <- cyclic_lr(0:(n - 1), base_lr = 1e-4, max_lr = 1e-2, step_size = 1000,
                       mode = "triangular2", tail = 50)
  expect_identical(as.numeric(chunked), as.numeric(whole))
  calls <- 0
  counted <- function(x) {
    calls <<- calls + 1
    1 / x
  }
  cyclic_lr(0:(n - 1), step_size = 1000, scale_fn = counted)
  expect_equal(calls, 1)
})
