//! End-to-end tests: the real binary over stdio, against moto (started by scripts/test.sh) and
//! small loopback fakes. One test binary so the large AWS SDK build is linked once.

mod cli;
mod fakes;
mod gate;
mod iam_tools;
mod mq_tools;
mod rabbitmq_tools;
mod support;
