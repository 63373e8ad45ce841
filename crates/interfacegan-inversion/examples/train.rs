use interfacegan_generator::{cpu_device, default_generator};
use interfacegan_inversion::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let steps: usize = args[1].parse().unwrap();
    let iw: f64 = args[2].parse().unwrap();
    let lr: f64 = args[3].parse().unwrap();
    let batch: usize = args[4].parse().unwrap();
    let g = default_generator(&cpu_device().autodiff()).unwrap();
    let t = EncoderTraining {
        steps,
        batch,
        image_weight: iw,
        learning_rate: LearningRate { initial: lr, rampup: 0.0, rampdown: 0.3 },
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let (enc, rep) = train_encoder(&g, &t, &mut |s, l| {
        if s % 100 == 0 {
            eprintln!("{s} {l:.4} {:.1}s", start.elapsed().as_secs_f64())
        }
    })
    .unwrap();
    println!(
        "steps {steps} iw {iw} lr {lr} b {batch}: {:.1}s code mse {:.4} psnr {:.2}",
        rep.seconds, rep.validation_code_mse, rep.validation_psnr
    );
    enc.save(&args[5], true).unwrap();
}
