//! Command line: `sc_cli::RunCmd` plus the sealing choice, and the usual subcommands.

/// How blocks are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sealing {
	/// Aura slots and GRANDPA finality: a network of authorities.
	Aura,
	/// A block, at once finalised, as soon as transactions stop arriving for `--seal-batch-ms`
	/// (so those sent together share a block); and blocks on request (`engine_createBlock`),
	/// e.g. empty ones for time to pass (single node).
	Instant,
	/// Blocks only on request: `engine_createBlock` / `engine_finalizeBlock` (single node).
	Manual,
}

#[derive(Debug, clap::Parser)]
pub struct Cli {
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// How blocks are made; default `instant` with `--dev`, `aura` otherwise.
	#[arg(long, value_enum)]
	pub sealing: Option<Sealing>,

	/// Instant seal: seal once no transaction arrived for this long (ms), so that
	/// transactions sent together share a block (0: a block per transaction as it arrives).
	#[arg(long, default_value_t = 150)]
	pub seal_batch_ms: u64,

	/// Instant seal: seal at the latest this long (ms) after the first transaction arrived.
	#[arg(long, default_value_t = 2000)]
	pub seal_batch_max_ms: u64,

	/// Instant seal: also seal an empty block when none was made for this long (ms), so that
	/// deadlines pass on an idle development chain (0: blocks only for transactions).
	#[arg(long, default_value_t = 0)]
	pub seal_idle_ms: u64,

	#[clap(flatten)]
	pub run: sc_cli::RunCmd,
}

impl Cli {
	/// The sealing to use.
	pub fn sealing(&self) -> Sealing {
		self.sealing.unwrap_or(if self.run.shared_params.dev { Sealing::Instant } else { Sealing::Aura })
	}
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management utilities.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (`--raw` for the storage form).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Database columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}
