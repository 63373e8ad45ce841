use std::path::PathBuf;

use interfacegan::models::{DEFAULT_TIMEOUT, MODELS, ModelStore, download, model};

use crate::CliError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Every model file: where its verified copy is (and how that folder was found), or why none can be used.
    List(StoreArgs),
    /// Verify every model file (size, then sha256); exit status 2 when one is missing or damaged.
    Verify(StoreArgs),
    /// Download a model file from URL (a mirror of it) into --models-dir, or the user cache; resumes a cut
    /// download, keeps the file only when its size and sha256 are the registry's.
    Fetch {
        /// The model: dcgan, gender, age, smile, dcgan-encoder.
        name: String,
        /// Where to download it from.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the path of a model file's verified copy.
    Path {
        /// The model: dcgan, gender, age, smile, dcgan-encoder.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(clap::Args)]
pub struct StoreArgs {
    /// Look in DIR first, then INTERFACEGAN_MODELS, the checkout's fixtures/models and the user cache.
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
}

impl StoreArgs {
    fn store(&self) -> ModelStore {
        let store = ModelStore::from_env();
        match &self.models_dir {
            Some(dir) => store.with_dir(dir),
            None => store,
        }
    }
}

pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::List(args) => {
            let store = args.store();
            for model in &MODELS {
                let place = match store.locate(model.name) {
                    Ok(found) => format!("{} ({})", found.path.display(), found.route),
                    Err(e) => format!("unusable: {e}"),
                };
                println!("{:<14} {:>11} bytes  {place}", model.name, model.bytes);
            }
            Ok(())
        }
        Command::Verify(args) => {
            let store = args.store();
            let problems: Vec<String> =
                MODELS.iter().filter_map(|m| store.locate(m.name).err().map(|e| e.to_string())).collect();
            if !problems.is_empty() {
                let count = format!("{} of {} model files cannot be used", problems.len(), MODELS.len());
                return Err(CliError::new(format!("{count}: {}", problems.join("; "))));
            }
            println!("all {} model files verified (size and sha256)", MODELS.len());
            Ok(())
        }
        Command::Fetch { name, url, store } => fetch(&name, &url, &store),
        Command::Path { name, store } => {
            println!("{}", store.store().locate(&name)?.path.display());
            Ok(())
        }
    }
}

/// Downloads model `name` from `url` into --models-dir or the user cache, with a progress bar.
fn fetch(name: &str, url: &str, store: &StoreArgs) -> Result<(), CliError> {
    let model = model(name)?;
    let dir = match &store.models_dir {
        Some(dir) => dir.clone(),
        None => ModelStore::cache_dir().ok_or_else(|| CliError::new("no user cache folder here: give --models-dir"))?,
    };
    let bar = crate::progress_bars::bar(model.bytes, model.file_name, "bytes");
    let path = download(url, model, &dir, DEFAULT_TIMEOUT, &mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    println!("{} (sha256 {}) -> {}", model.file_name, model.sha256, path.display());
    Ok(())
}
