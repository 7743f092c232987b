# Speed of cyclic_lr(iteration = 1:n) against the blog's R loop (Cyclic_LR(), transcribed in
# tests/testthat/helper-seed.R) and the same formula vectorized in plain R, measured side by
# side in one run. Median wall time after a warm-up call.
#
# Run from the package root: R_LIBS=.Rlib Rscript bench/bench-schedules.R
# (RETICULATE_PYTHON or the "r-kerasclr" virtualenv selects the Python.)

suppressPackageStartupMessages(library(kerasclr))
source(file.path("tests", "testthat", "helper-seed.R"))

sizes <- c(1e4, 1e5, 1e6, 1e7)
repetitions <- c(50, 20, 10, 5)
seed_max_measured <- 1e6  # the loop is run once at 1e6 and extrapolated (linearly) to 1e7
args <- list(base_lr = 0.001, max_lr = 0.006, step_size = 2000)  # the same for all three

time_ms <- function(f, reps) {
  f()  # warm-up: first Python import, caches, page faults
  times <- vapply(seq_len(reps), function(i) {
    start <- Sys.time()
    f()
    as.numeric(Sys.time() - start, units = "secs")
  }, numeric(1))
  stats::median(times) * 1000
}

run_kerasclr <- function(n) do.call(cyclic_lr, c(list(1:n), args))
run_vectorized <- function(n) do.call(seed_cyclic_lr_vectorized, c(list(1:n), args))
run_seed <- function(n) do.call(seed_cyclic_lr, c(list(1:n), args))

# The three agree before anything is timed.
check <- c(run_kerasclr(1e4))
stopifnot(max(abs(check - run_seed(1e4)) / run_seed(1e4)) < 1e-12,
          max(abs(check - run_vectorized(1e4)) / run_vectorized(1e4)) < 1e-12)

rows <- lapply(seq_along(sizes), function(i) {
  n <- sizes[i]
  reps <- repetitions[i]
  package_ms <- time_ms(function() run_kerasclr(n), reps)
  vectorized_ms <- time_ms(function() run_vectorized(n), reps)
  if (n < seed_max_measured) {
    seed_ms <- time_ms(function() run_seed(n), max(3, reps %/% 10))
    seed_how <- "median"
  } else if (n == seed_max_measured) {
    seed_ms <- 1000 * system.time(run_seed(n))[["elapsed"]]
    seed_how <- "run once"
  } else {
    seed_ms <- NA
    seed_how <- ""
  }
  data.frame(n = n, kerasclr_ms = package_ms, seed_loop_ms = seed_ms, seed_loop = seed_how,
             pure_r_vectorized_ms = vectorized_ms)
})
table <- do.call(rbind, rows)

# The loop at sizes beyond the measured one: linear extrapolation from the largest measured
# size (the loop does a fixed amount of work per iteration), labelled as such.
measured <- table$n == seed_max_measured
for (k in which(table$n > seed_max_measured)) {
  table$seed_loop_ms[k] <- table$seed_loop_ms[measured] * table$n[k] / seed_max_measured
  table$seed_loop[k] <- sprintf("extrapolated from %g", seed_max_measured)
}
table$seed_loop_ratio <- table$seed_loop_ms / table$kerasclr_ms
table$pure_r_ratio <- table$pure_r_vectorized_ms / table$kerasclr_ms

cat("cyclic_lr(1:n) vs the blog's Cyclic_LR() loop and a pure-R vectorized version\n")
cat(sprintf("R %s, reticulate %s, Python %s, NumPy %s; load average at start: %s\n",
            getRversion(), utils::packageVersion("reticulate"), reticulate::py_config()$version,
            reticulate::py_config()$numpy$version,
            paste(scan("/proc/loadavg", what = "", n = 3, quiet = TRUE), collapse = " ")))
cat("Times are median milliseconds; ratios are (other time) / (cyclic_lr time), > 1 = cyclic_lr faster.\n\n")
shown <- data.frame(
  n = format(table$n, scientific = TRUE),
  `cyclic_lr ms` = sprintf("%.2f", table$kerasclr_ms),
  `seed loop ms` = sprintf("%.1f", table$seed_loop_ms),
  `(seed loop)` = table$seed_loop,
  `pure-R vec ms` = sprintf("%.2f", table$pure_r_vectorized_ms),
  `seed loop / cyclic_lr` = sprintf("%.0fx", table$seed_loop_ratio),
  `pure-R vec / cyclic_lr` = sprintf("%.2fx", table$pure_r_ratio),
  check.names = FALSE
)
print(shown, row.names = FALSE, right = TRUE)
