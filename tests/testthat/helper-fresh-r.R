# Runs R code in a fresh R process (Rscript), with this session's R library path and
# environment (RETICULATE_PYTHON, KERAS_BACKEND): for what a session boundary changes, such
# as loading a saved model after `library(kerasclr)`. Returns the output lines (stdout and
# stderr); the exit status is the attribute "status" (NULL when 0).
run_fresh_r <- function(lines) {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script), add = TRUE)
  writeLines(lines, script)
  libs <- paste0("R_LIBS=", shQuote(paste(.libPaths(), collapse = .Platform$path.sep)))
  suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), shQuote(script),
                           stdout = TRUE, stderr = TRUE, env = libs))
}
