library(testthat)
library(kerasclr)

test_check("kerasclr")
