//! `interfacegan models`, and the model store every command loads the model files through.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use indicatif::ProgressBar;
use interfacegan::models::{DEFAULT_TIMEOUT, MODELS, ModelFile, ModelStore, Route, download, model};

use crate::CliError;

/// Where the model files are looked for, and whether missing ones are downloaded: the options every
/// command takes.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// Look for model files in DIR first (then INTERFACEGAN_MODELS, the checkout's fixtures/models and
    /// the user cache); files downloaded go there too.
    #[arg(long, value_name = "DIR", global = true)]
    models_dir: Option<PathBuf>,
    /// Never download a model file (as INTERFACEGAN_OFFLINE=1 does).
    #[arg(long, global = true)]
    offline: bool,
}

static STORE: OnceLock<ModelStore> = OnceLock::new();

/// Sets the store of this run from the command line; called once, before any command runs.
pub fn init_store(args: &StoreArgs) {
    let mut store = ModelStore::from_env();
    if let Some(dir) = &args.models_dir {
        store = store.with_dir(dir);
        if store.download_dir().is_some() {
            store = store.downloading_into(dir);
        }
    }
    if args.offline {
        store = store.offline();
    }
    let _ = STORE.set(store.on_progress(download_progress()));
}

/// The store of this run.
pub fn model_store() -> &'static ModelStore {
    STORE.get_or_init(ModelStore::from_env)
}

/// One progress bar per file downloaded.
fn download_progress() -> impl Fn(&ModelFile, u64, u64) + Send + Sync + 'static {
    let current: Mutex<Option<(&'static str, ProgressBar)>> = Mutex::new(None);
    move |model, done, total| {
        let mut current = current.lock().expect("progress lock");
        if current.as_ref().is_none_or(|(name, bar)| *name != model.file_name || bar.length() != Some(total)) {
            let message = format!("downloading {}", model.file_name);
            *current = Some((model.file_name, crate::progress_bars::bar(total, &message, "bytes")));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_position(done);
            if done == total {
                bar.finish_and_clear();
            }
        }
    }
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Every model file: where its verified copy is (and how that folder was found), or why none can be used.
    List,
    /// Verify every model file (size, then sha256); exit status 2 when one is missing or damaged.
    Verify,
    /// Download model files from their pinned sources (or --url, a mirror of one file) into --models-dir
    /// or the user cache; resumes a cut download, keeps a file only when its size and sha256 are the
    /// registry's. Files already there are verified, not downloaded again.
    Fetch {
        /// The models (dcgan, gender, age, smile, dcgan-encoder); all of them when left out.
        names: Vec<String>,
        /// Download the one model named from this URL instead.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the path of a model file's verified copy.
    Path {
        /// The model: dcgan, gender, age, smile, dcgan-encoder.
        name: String,
    },
}

pub fn run(command: Command) -> Result<(), CliError> {
    // Looking is not fetching: only `fetch` and the commands that need a file download.
    let store = model_store().clone().offline();
    match command {
        Command::List => {
            for model in &MODELS {
                let place = match store.locate(model.name) {
                    Ok(found) => format!("{} ({})", found.path.display(), found.route),
                    Err(e) => format!("unusable: {e}"),
                };
                println!("{:<14} {:>11} bytes  {place}", model.name, model.bytes);
            }
            Ok(())
        }
        Command::Verify => {
            let problems: Vec<String> =
                MODELS.iter().filter_map(|m| store.locate(m.name).err().map(|e| e.to_string())).collect();
            if !problems.is_empty() {
                let count = format!("{} of {} model files cannot be used", problems.len(), MODELS.len());
                return Err(CliError::new(format!("{count}: {}", problems.join("; "))));
            }
            println!("all {} model files verified (size and sha256)", MODELS.len());
            Ok(())
        }
        Command::Fetch { names, url } => fetch_all(&names, url.as_deref()),
        Command::Path { name } => {
            println!("{}", store.locate(&name)?.path.display());
            Ok(())
        }
    }
}

/// Downloads models `names` (all when empty) into the store's download folder, each with a progress bar.
fn fetch_all(names: &[String], url: Option<&str>) -> Result<(), CliError> {
    let models: Vec<&ModelFile> = if names.is_empty() {
        MODELS.iter().collect()
    } else {
        names.iter().map(|n| model(n)).collect::<Result<_, _>>()?
    };
    if url.is_some() && models.len() != 1 {
        return Err(CliError::new("--url names the source of one model: give its name"));
    }
    // An explicit request: it downloads even where the other commands are kept offline.
    let given = model_store().folders().find(|(route, _)| *route == Route::Explicit).map(|(_, dir)| dir.to_path_buf());
    let dir = given
        .or_else(ModelStore::cache_dir)
        .ok_or_else(|| CliError::new("no user cache folder here: give --models-dir"))?;
    let store = model_store().clone().downloading_into(&dir);
    let progress = download_progress();
    for model in models {
        let path = match url {
            Some(url) => download(url, model, &dir, DEFAULT_TIMEOUT, &mut |done, total| progress(model, done, total))?,
            None => store.fetch(model.name)?.path,
        };
        println!("{} (sha256 {}) -> {}", model.file_name, model.sha256, path.display());
    }
    Ok(())
}
