//! End-to-end tests: the real binary over stdio, against the local AWS fake started by
//! scripts/test.sh (moto; LocalStack for a second IAM run), a real RabbitMQ, and small loopback
//! fakes. One test binary so the large AWS SDK build is linked once.
//!
//! The harness (libtest-mimic) reports a test whose API the target endpoint lacks as ignored,
//! with the reason, never as passed: see `support::Needs` and `GUARDED_TEST_TARGET`.

mod approvals;
mod cli;
mod fakes;
mod faults;
mod fleet;
mod fuzz_smoke;
mod gate;
mod hardening;
mod http;
mod iam_tools;
mod identity;
mod limits;
mod mq_tools;
mod operators;
mod progress;
mod rabbitmq_tools;
mod resource_policy;
mod shipping;
mod support;
mod tasks;
mod telemetry;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(approvals::trials());
    trials.extend(cli::trials());
    trials.extend(faults::trials());
    trials.extend(fleet::trials());
    trials.extend(fuzz_smoke::trials());
    trials.extend(gate::trials());
    trials.extend(hardening::trials());
    trials.extend(http::trials());
    trials.extend(iam_tools::trials());
    trials.extend(identity::trials());
    trials.extend(limits::trials());
    trials.extend(mq_tools::trials());
    trials.extend(operators::trials());
    trials.extend(progress::trials());
    trials.extend(rabbitmq_tools::trials());
    trials.extend(tasks::trials());
    trials.extend(telemetry::trials());
    trials.extend(resource_policy::trials());
    trials.extend(shipping::trials());
    libtest_mimic::run(&args, trials).exit();
}
