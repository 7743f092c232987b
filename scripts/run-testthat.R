# Runs the installed package's testthat suite (optionally a filter of files) and writes
# "passed failed skipped" (test blocks) to the file named by the first argument.
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
filter <- if (length(args) > 1 && nzchar(args[2])) args[2] else NULL
library(testthat)
# Developer runs are not CRAN runs: skip_on_cran() tests (snapshots, slow ones) run too.
Sys.setenv(NOT_CRAN = "true")
res <- testthat::test_dir("tests/testthat", package = "kerasclr", load_package = "installed",
                          filter = filter, reporter = ProgressReporter$new(show_praise = FALSE),
                          stop_on_failure = FALSE, stop_on_warning = FALSE)
df <- as.data.frame(res)
bad <- df$failed > 0 | df$error
skipped <- !bad & df$skipped
writeLines(sprintf("%d %d %d", sum(!bad & !skipped), sum(bad), sum(skipped)), out)
cat(sprintf("testthat: %d passed, %d failed, %d skipped (test blocks)\n",
            sum(!bad & !skipped), sum(bad), sum(skipped)))
quit(status = if (any(bad)) 1 else 0)
