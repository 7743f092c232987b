# Shared machinery of the client journeys (keras3-journey.R, keras2-journey.R): every step
# prints one PASS or FAIL line, with the error message, and the journey goes on to the next.
# Sourced by the journeys; not a test file of its own (testthat and scripts/test.sh never see it).

# The root of the checkout whose README and vignettes the journey runs (tests/clients/../..).
repo <- normalizePath(file.path(
  dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", ".."))

journey <- new.env(parent = emptyenv())
journey$results <- data.frame(step = character(), status = character(), message = character(),
                              stringsAsFactors = FALSE)

# Starts a journey: stops with status 0 when a client package is not installed, then opens
# the PDF device for its plots in the output folder ($KERASCLR_JOURNEY_OUT, default a folder
# in tempdir()) and returns that folder.
start_journey <- function(journey_name, packages, hint) {
  missing <- packages[!vapply(packages, requireNamespace, logical(1), quietly = TRUE)]
  if (length(missing) > 0) {
    cat(sprintf("SKIP %s: R package(s) %s not installed (%s)\n", journey_name,
                paste(missing, collapse = ", "), hint))
    quit(save = "no", status = 0)
  }
  if (!nzchar(Sys.getenv("TF_CPP_MIN_LOG_LEVEL"))) Sys.setenv(TF_CPP_MIN_LOG_LEVEL = "2")
  out <- Sys.getenv("KERASCLR_JOURNEY_OUT", file.path(tempdir(), paste0("kerasclr-", journey_name)))
  dir.create(out, recursive = TRUE, showWarnings = FALSE)
  grDevices::pdf(file.path(out, paste0(journey_name, "-plots.pdf")), width = 8, height = 6)
  normalizePath(out)
}

# Loads the client package and kerasclr, and prints their versions.
attach_packages <- function(journey_name, client) {
  library(client, character.only = TRUE)
  library(kerasclr)
  cat(sprintf("%s: R %s, reticulate %s, %s %s, kerasclr %s (%s)\n", journey_name, getRversion(),
              utils::packageVersion("reticulate"), client, utils::packageVersion(client),
              utils::packageVersion("kerasclr"), find.package("kerasclr")),
      sprintf("  README and vignettes read from %s\n", repo))
}

short_message <- function(e, max_chars = 900, max_lines = 6) {
  msg <- conditionMessage(e)
  msg <- sub("\nRun `reticulate::py_last_error\\(\\)` for details\\.?\\s*$", "", msg)
  lines <- strsplit(trimws(msg), "[\r\n]+")[[1]]
  if (length(lines) > max_lines) lines <- c(lines[seq_len(max_lines)], "[...]")
  msg <- paste(lines, collapse = "\n      ")
  if (nchar(msg) > max_chars) msg <- paste0(substr(msg, 1, max_chars), " [...]")
  msg
}

record <- function(name, status, message = "") {
  journey$results[nrow(journey$results) + 1, ] <- list(name, status, message)
  line <- sprintf("%-4s %s", status, name)
  if (nzchar(message)) line <- paste0(line, "\n      ", message)
  cat(line, "\n", sep = "")
  flush(stdout())
}

# Python warnings logged through the "tensorflow" logger (tf_keras logs its "callback is
# slow" warnings there), collected per step.
py_log <- local({
  handler <- NULL
  function(action = c("clear", "messages")) {
    action <- match.arg(action)
    if (is.null(handler)) {
      reticulate::py_run_string(paste(
        "import logging",
        "class _JourneyLog(logging.Handler):",
        "    def __init__(self):",
        "        super().__init__(logging.WARNING)",
        "        self.messages = []",
        "    def emit(self, record):",
        "        self.messages.append(record.getMessage())",
        "_journey_log = _JourneyLog()",
        "logging.getLogger('tensorflow').addHandler(_journey_log)", sep = "\n"))
      handler <<- reticulate::py_eval("_journey_log", convert = FALSE)
    }
    if (action == "clear") {
      reticulate::py_run_string("_journey_log.messages.clear()")
      return(invisible(character()))
    }
    as.character(reticulate::py_to_r(handler$messages))
  }
})

# Runs `code` in the caller's environment. PASS when it finishes (R warnings and Python
# "tensorflow" warnings are listed under the line), FAIL with the error message otherwise.
# Returns the value of `code`, or NULL after a failure.
step <- function(name, code) run_step(name, substitute(code), parent.frame(), "PASS", "FAIL")

# A reference step: what the client package or the set-up does by itself, for comparison.
# Reported as INFO with its outcome; never counted as a failure.
step_info <- function(name, code) run_step(name, substitute(code), parent.frame(), "INFO", "INFO")

run_step <- function(name, expr, env, pass, fail) {
  warnings <- character()
  if (reticulate::py_available()) py_log("clear")
  value <- withCallingHandlers(
    tryCatch(list(ok = TRUE, value = eval(expr, env)),
             error = function(e) list(ok = FALSE, message = short_message(e))),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (reticulate::py_available()) {
    logged <- py_log("messages")
    if (length(logged)) warnings <- c(warnings, paste("[python]", logged))
  }
  indent <- "\n      "
  notes <- if (length(warnings)) paste("warning:", unique(warnings), collapse = indent) else ""
  lines <- if (value$ok) {
    c(if (pass == "INFO") "works", notes)
  } else {
    c(if (fail == "INFO") paste("error:", value$message) else value$message, notes)
  }
  record(name, if (value$ok) pass else fail, paste(lines[nzchar(lines)], collapse = indent))
  if (value$ok) invisible(value$value) else invisible(NULL)
}

# A step that must end in an R error whose message matches every regular expression in
# `patterns` (case-insensitive) and is not a raw Python error.
step_error <- function(name, code, patterns) {
  env <- parent.frame()
  expr <- substitute(code)
  result <- tryCatch({
    suppressWarnings(eval(expr, env))
    list(ok = FALSE, message = "no error was raised")
  }, error = function(e) {
    msg <- conditionMessage(e)
    python <- grepl("Traceback|py_call_impl|[A-Za-z]+(Error|Exception):|py_last_error", msg) ||
      inherits(e, "python.builtin.BaseException")
    unmatched <- patterns[!vapply(patterns, grepl, logical(1), x = msg, ignore.case = TRUE)]
    if (python) {
      list(ok = FALSE, message = paste("a Python error, not an R one:", short_message(e)))
    } else if (length(unmatched) > 0) {
      list(ok = FALSE, message = sprintf("the message does not match /%s/: %s",
                                         paste(unmatched, collapse = "/, /"), short_message(e)))
    } else {
      list(ok = TRUE, message = paste("error as expected:", short_message(e)))
    }
  })
  record(name, if (result$ok) "PASS" else "FAIL", result$message)
  invisible(result$ok)
}

# Inside a step: stop with `...` pasted together unless `condition` holds.
check <- function(condition, ...) {
  if (!isTRUE(condition)) stop(paste0(...), call. = FALSE)
  invisible(TRUE)
}

# Inside a step: stop unless `actual` equals `expected` to `tolerance` (relative).
check_close <- function(actual, expected, what, tolerance = 1e-5) {
  actual <- as.numeric(actual)
  expected <- as.numeric(expected)
  check(length(actual) == length(expected),
        sprintf("%s: %d values, expected %d", what, length(actual), length(expected)))
  err <- max(abs(actual - expected) / pmax(abs(expected), 1e-12))
  check(is.finite(err) && err <= tolerance,
        sprintf("%s: largest relative difference %.3g (tolerance %.1g)", what, err, tolerance))
  invisible(err)
}

# A step that is reported but not run, with the reason.
step_skip <- function(name, reason) record(name, "SKIP", reason)

# Runs R code in a fresh `Rscript` process (same R_LIBS, RETICULATE_PYTHON, KERAS_BACKEND);
# stops with the end of its output when it fails. Returns its output lines.
run_fresh_r <- function(code, out, name) {
  run_fresh("R", file.path(R.home("bin"), "Rscript"), code, file.path(out, paste0(name, ".R")))
}

# Runs Python code in a fresh process of the journey's Python, with `env` ("NAME=value").
run_fresh_python <- function(code, out, name, env = character()) {
  run_fresh("Python", reticulate::py_config()$python, code, file.path(out, paste0(name, ".py")),
            env)
}

run_fresh <- function(language, command, code, file, env = character()) {
  writeLines(code, file)
  output <- suppressWarnings(system2(command, shQuote(file), stdout = TRUE, stderr = TRUE,
                                     env = env))
  status <- attr(output, "status") %||% 0L
  writeLines(output, sub("\\.[^.]+$", ".log", file))
  if (status != 0) {
    shown <- grep("oneDNN|absl::InitializeLog|cuda|TF-TRT|rebuild TensorFlow|^\\s*$", output,
                  value = TRUE, invert = TRUE)
    stop(sprintf("fresh %s process (%s) exited with status %d:\n%s", language, file, status,
                 paste(utils::tail(shown, 10), collapse = "\n")), call. = FALSE)
  }
  output
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# The code of the R chunk labelled `label` in an R Markdown file, as written there.
rmd_chunk <- function(file, label) {
  lines <- readLines(file, warn = FALSE)
  starts <- grep(sprintf("^```\\{r[ ,]+%s[,} ]", label), lines)
  if (length(starts) != 1) stop(sprintf("no single chunk `%s` in %s", label, file), call. = FALSE)
  ends <- grep("^```\\s*$", lines)
  end <- ends[ends > starts][1]
  lines[(starts + 1):(end - 1)]
}

# The labels of the chunks of an R Markdown file that have `eval = FALSE`.
rmd_unevaluated_chunks <- function(file) {
  lines <- grep("^```\\{r", readLines(file, warn = FALSE), value = TRUE)
  lines <- grep("eval\\s*=\\s*FALSE", lines, value = TRUE)
  sub("^```\\{r[ ,]+([^, }]+).*$", "\\1", lines)
}

# The ```r code blocks of a Markdown file (the README), in order.
md_r_blocks <- function(file) {
  lines <- readLines(file, warn = FALSE)
  starts <- grep("^```r\\s*$", lines)
  ends <- grep("^```\\s*$", lines)
  lapply(starts, function(s) lines[(s + 1):(ends[ends > s][1] - 1)])
}

# Evaluates lines of R code in `env`, echoing nothing; used for the vignette and README code.
eval_lines <- function(lines, env) {
  exprs <- parse(text = lines, keep.source = FALSE)
  value <- NULL
  for (e in exprs) {
    value <- withVisible(eval(e, env))
    if (value$visible && !is.null(value$value)) print(value$value)
  }
  invisible(value$value)
}

# Writes a few small JPEG images into `dir/<class>/` with R's own jpeg() device: a
# stand-in for an image folder (the Cassava photos of the vignette and the blog).
write_image_folder <- function(dir, classes, per_class = 4, size = 64) {
  files <- character()
  for (k in seq_along(classes)) {
    sub_dir <- file.path(dir, classes[[k]])
    dir.create(sub_dir, recursive = TRUE, showWarnings = FALSE)
    for (i in seq_len(per_class)) {
      file <- file.path(sub_dir, sprintf("%s-%02d.jpg", classes[[k]], i))
      grDevices::jpeg(file, width = size, height = size)
      graphics::par(mar = c(0, 0, 0, 0))
      graphics::plot.new()
      graphics::rect(0, 0, 1, 1, col = grDevices::hcl(360 * k / length(classes), 60, 40 + 5 * i))
      graphics::symbols(stats::runif(3), stats::runif(3), circles = stats::runif(3, 0.05, 0.2),
                        inches = FALSE, add = TRUE, bg = "white")
      grDevices::dev.off()
      files <- c(files, file)
    }
  }
  files
}

# Prints the summary line and ends the process: status 1 when a step failed.
finish_journey <- function(journey_name, out) {
  res <- journey$results
  utils::write.table(res, file.path(out, paste0(journey_name, "-results.tsv")), sep = "\t",
                     row.names = FALSE, quote = TRUE)
  counts <- table(factor(res$status, levels = c("PASS", "FAIL", "SKIP", "INFO")))
  cat(sprintf("\n%s: %d passed, %d failed, %d skipped, %d for reference", journey_name,
              counts[["PASS"]], counts[["FAIL"]], counts[["SKIP"]], counts[["INFO"]]),
      sprintf("(results, plots and logs in %s)\n", out))
  if (counts[["FAIL"]] > 0) {
    cat("Failed steps:\n")
    cat(paste0("  - ", res$step[res$status == "FAIL"], "\n"), sep = "")
  }
  quit(save = "no", status = if (counts[["FAIL"]] > 0) 1 else 0)
}
