//! `vbank-sim`: runs seeded scenarios; `--seed N` replays one.

use clap::Parser;
use std::process::ExitCode;
use std::time::Instant;
use vbank_sim::{run, run_many, Config};

#[derive(Debug, Parser)]
#[command(about = "Seeded simulation of vbank's virtual accounts (races, lost messages, crashes, clock jumps)")]
struct Args {
    /// Replay exactly this seed, printing its trace on failure.
    #[arg(long)]
    seed: Option<u64>,
    /// How many scenarios to run, from --first-seed.
    #[arg(long, default_value_t = 10_000)]
    scenarios: u64,
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Random steps per scenario before it settles.
    #[arg(long, default_value_t = 200)]
    steps: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config::with_steps(args.steps);
    let started = Instant::now();
    let result = match args.seed {
        Some(seed) => run(seed, &config),
        None => {
            // Progress every 10% of a long run.
            let chunk = (args.scenarios / 10).max(1);
            let mut total = Ok(Default::default());
            let mut seed = args.first_seed;
            while seed < args.first_seed + args.scenarios {
                let count = chunk.min(args.first_seed + args.scenarios - seed);
                total = run_many(seed, count, &config);
                if total.is_err() {
                    break;
                }
                seed += count;
                eprintln!("  {} of {} scenarios passed", seed - args.first_seed, args.scenarios);
            }
            total
        }
    };
    match result {
        Ok(stats) => {
            println!("ok in {:.1?}: {stats:?}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(violation) => {
            eprintln!("{violation}");
            ExitCode::FAILURE
        }
    }
}
