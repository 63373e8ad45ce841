//! Progress bars for the library's stages (hidden when stderr is not a terminal).

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use interfacegan::pipeline::Progress;

/// One bar per stage, replaced when the next stage begins.
#[derive(Default)]
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

/// A progress bar over `count` units named `unit`.
pub fn bar(count: u64, message: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(count);
    let template = format!("{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)");
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template").progress_chars("=> "));
    bar.set_message(message.to_string());
    bar
}

impl Progress for Bars {
    fn begin(&self, stage: &str, total: u64) {
        let unit = if stage.contains("chunk") || stage.contains("boundar") { "" } else { "images" };
        let mut current = self.current.lock().expect("progress lock");
        if let Some(old) = current.take() {
            old.finish_and_clear();
        }
        *current = Some(bar(total, stage, unit));
    }

    fn set(&self, done: u64) {
        if let Some(bar) = self.current.lock().expect("progress lock").as_ref() {
            bar.set_position(done);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.current.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}
