//! The node's service: client, networking, RPC, and block production by Aura + GRANDPA or by
//! instant/manual seal.

use crate::{
	cli::Sealing,
	runtime_api::{Block, RuntimeApi},
};
use futures::{FutureExt, SinkExt, StreamExt};
use sc_consensus_manual_seal::EngineCommand;
use sp_runtime::traits::Block as BlockT;
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::{OffchainTransactionPoolFactory, TransactionPool};
use sp_consensus_aura::sr25519::{AuthorityId as AuraId, AuthorityPair as AuraPair};
use std::{sync::Arc, time::Duration};

/// The client: the runtime always runs from its wasm.
pub type FullClient =
	sc_service::TFullClient<Block, RuntimeApi, sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;
type GrandpaLink = sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// GRANDPA justifications are kept for every this many blocks (and at authority set changes).
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// The parts every command needs.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(Option<(GrandpaBlockImport, GrandpaLink)>, Option<Telemetry>),
>;

/// Client, database, pool and import queue. With Aura sealing the import queue checks Aura
/// seals and GRANDPA justifications; with instant/manual seal it imports blocks as they are.
pub fn new_partial(config: &Configuration, sealing: Sealing) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (import_queue, grandpa) = match sealing {
		Sealing::Instant | Sealing::Manual => (
			sc_consensus_manual_seal::import_queue(
				Box::new(client.clone()),
				&task_manager.spawn_essential_handle(),
				config.prometheus_registry(),
			),
			None,
		),
		Sealing::Aura => {
			let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
				client.clone(),
				GRANDPA_JUSTIFICATION_PERIOD,
				&client,
				select_chain.clone(),
				telemetry.as_ref().map(|x| x.handle()),
			)?;
			let cidp_client = client.clone();
			let import_queue =
				sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(ImportQueueParams {
					block_import: grandpa_block_import.clone(),
					justification_import: Some(Box::new(grandpa_block_import.clone())),
					client: client.clone(),
					create_inherent_data_providers: move |parent_hash, _| {
						let cidp_client = cidp_client.clone();
						async move {
							let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
								&*cidp_client,
								parent_hash,
							)?;
							let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
							let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
								*timestamp,
								slot_duration,
							);
							Ok((slot, timestamp))
						}
					},
					spawner: &task_manager.spawn_essential_handle(),
					registry: config.prometheus_registry(),
					check_for_equivocation: Default::default(),
					telemetry: telemetry.as_ref().map(|x| x.handle()),
					compatibility_mode: Default::default(),
				})?;
			(import_queue, Some((grandpa_block_import, grandpa_link)))
		},
	};

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa, telemetry),
	})
}

/// The full node.
pub fn new_full<N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>>(
	config: Configuration,
	sealing: Sealing,
	seal_batch: std::time::Duration,
	seal_batch_max: std::time::Duration,
	seal_idle: std::time::Duration,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa, mut telemetry),
	} = new_partial(&config, sealing)?;

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let peer_store_handle = net_config.peer_store_handle();
	let grandpa_protocol_name = sc_consensus_grandpa::protocol_standard_name(
		&client.block_hash(0).ok().flatten().expect("Genesis block exists; qed"),
		&config.chain_spec,
	);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			peer_store_handle,
		);
	net_config.add_notification_protocol(grandpa_protocol_config);

	// Warp sync proofs come from GRANDPA's authority set changes (none without GRANDPA).
	let warp_sync_config = match &grandpa {
		Some((_, link)) => {
			let provider = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
				backend.clone(),
				link.shared_authority_set().clone(),
				Vec::default(),
			));
			Some(WarpSyncConfig::WithProvider(provider))
		},
		None => None,
	};

	let (network, system_rpc_tx, tx_handler_controller, sync_service) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config,
			block_relay: None,
			metrics,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: false,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	// Instant and manual seal take commands over RPC (`engine_createBlock`,
	// `engine_finalizeBlock`): a client can make empty blocks for time to pass on chain.
	let (seal_tx, seal_rx) = futures::channel::mpsc::channel(1024);
	let seal_tx = (sealing != Sealing::Aura).then_some(seal_tx);

	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				manual_seal: seal_tx.clone(),
			};
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	let _rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
	})?;

	let proposer_factory = sc_basic_authorship::ProposerFactory::new(
		task_manager.spawn_handle(),
		client.clone(),
		transaction_pool.clone(),
		prometheus_registry.as_ref(),
		telemetry.as_ref().map(|x| x.handle()),
	);

	match (sealing, grandpa) {
		(Sealing::Instant | Sealing::Manual, _) => {
			// Manual seal's commands come over RPC. With instant seal, the first transaction the
			// pool imports starts a short batching window; everything imported by its end is
			// sealed into one block, finalised at once. Clients that send a phase's
			// transactions together thus get them in one block, not one block each.
			let commands_stream: std::pin::Pin<
				Box<dyn futures::Stream<Item = EngineCommand<<Block as BlockT>::Hash>> + Send>,
			> = if sealing == Sealing::Instant {
				let (batch_tx, batch_rx) = futures::channel::mpsc::channel(16);
				if !seal_idle.is_zero() {
					// An empty block whenever the best block has not changed for `seal_idle`
					// (checked four times per period), so deadlines pass on an idle chain.
					let mut idle_tx = batch_tx.clone();
					let idle_client = client.clone();
					task_manager.spawn_handle().spawn("seal-idle", None, async move {
						use sp_blockchain::HeaderBackend;
						let tick = (seal_idle / 4).max(Duration::from_millis(10));
						let mut best = idle_client.info().best_hash;
						let mut since = std::time::Instant::now();
						loop {
							futures_timer::Delay::new(tick).await;
							let now = idle_client.info().best_hash;
							if now != best {
								best = now;
								since = std::time::Instant::now();
								continue;
							}
							if since.elapsed() < seal_idle {
								continue;
							}
							let seal = EngineCommand::SealNewBlock {
								create_empty: true,
								finalize: true,
								parent_hash: None,
								sender: None,
							};
							if idle_tx.send(seal).await.is_err() {
								break;
							}
							since = std::time::Instant::now();
						}
					});
				}
				let mut imports = transaction_pool.import_notification_stream();
				let pool = transaction_pool.clone();
				task_manager.spawn_handle().spawn("seal-batcher", None, async move {
					let mut batch_tx = batch_tx;
					'batches: while imports.next().await.is_some() {
						// Wait until no transaction arrived for `seal_batch` (a phase's
						// transactions, sent together, keep coming), but at most `seal_batch_max`.
						let started = std::time::Instant::now();
						while !seal_batch.is_zero() && started.elapsed() < seal_batch_max {
							futures_timer::Delay::new(seal_batch).await;
							let mut arrived = false;
							while let Some(Some(_)) = imports.next().now_or_never() {
								arrived = true;
							}
							if !arrived {
								break;
							}
						}
						// Whatever arrived meanwhile goes in this block; a full block leaves
						// the rest ready in the pool, sealed in the next one.
						loop {
							while let Some(Some(_)) = imports.next().now_or_never() {}
							let (done_tx, done_rx) = futures::channel::oneshot::channel();
							let seal = EngineCommand::SealNewBlock {
								create_empty: false,
								finalize: true,
								parent_hash: None,
								sender: Some(done_tx),
							};
							if batch_tx.send(seal).await.is_err() {
								break 'batches;
							}
							let sealed = matches!(done_rx.await, Ok(Ok(_)));
							if !sealed || pool.status().ready == 0 {
								break;
							}
						}
					}
				});
				Box::pin(futures::stream::select(batch_rx, seal_rx))
			} else {
				Box::pin(seal_rx)
			};
			let params = sc_consensus_manual_seal::ManualSealParams {
				block_import: client.clone(),
				env: proposer_factory,
				client: client.clone(),
				pool: transaction_pool.clone(),
				commands_stream,
				select_chain,
				consensus_data_provider: None,
				create_inherent_data_providers: move |_, ()| async move {
					Ok(sp_timestamp::InherentDataProvider::from_system_time())
				},
			};
			task_manager.spawn_essential_handle().spawn_blocking(
				"manual-seal",
				None,
				sc_consensus_manual_seal::run_manual_seal(params),
			);
		},
		(Sealing::Aura, Some((block_import, grandpa_link))) => {
			if role.is_authority() {
				let slot_duration = sc_consensus_aura::slot_duration::<AuraId, _, _>(&*client)?;
				let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
					StartAuraParams {
						slot_duration,
						client: client.clone(),
						select_chain,
						block_import,
						proposer_factory,
						create_inherent_data_providers: move |_, ()| async move {
							let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
							let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
								*timestamp,
								slot_duration,
							);
							Ok((slot, timestamp))
						},
						force_authoring,
						backoff_authoring_blocks: Option::<()>::None,
						keystore: keystore_container.keystore(),
						sync_oracle: sync_service.clone(),
						justification_sync_link: sync_service.clone(),
						block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
						max_block_proposal_slot_portion: None,
						telemetry: telemetry.as_ref().map(|x| x.handle()),
						compatibility_mode: Default::default(),
					},
				)?;
				task_manager.spawn_essential_handle().spawn_blocking(
					"aura",
					Some("block-authoring"),
					aura,
				);
			}

			if enable_grandpa {
				let keystore =
					if role.is_authority() { Some(keystore_container.keystore()) } else { None };
				let grandpa_config = sc_consensus_grandpa::Config {
					gossip_duration: Duration::from_millis(333),
					justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
					name: Some(name),
					observer_enabled: false,
					keystore,
					local_role: role,
					telemetry: telemetry.as_ref().map(|x| x.handle()),
					protocol_name: grandpa_protocol_name,
				};
				let params = sc_consensus_grandpa::GrandpaParams {
					config: grandpa_config,
					link: grandpa_link,
					network,
					sync: sync_service,
					notification_service: grandpa_notification_service,
					// Vote for the best block itself, not two below it (the default rules):
					// authorities that share a machine or a data centre rarely fork, and the
					// finalised head then trails the best one by a GRANDPA round, not two blocks
					// more (docs/chain.md, *Slots*).
					voting_rule: sc_consensus_grandpa::VotingRulesBuilder::new().build(),
					prometheus_registry,
					shared_voter_state: SharedVoterState::empty(),
					telemetry: telemetry.as_ref().map(|x| x.handle()),
					offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
				};
				task_manager.spawn_essential_handle().spawn_blocking(
					"grandpa-voter",
					None,
					sc_consensus_grandpa::run_grandpa_voter(params)?,
				);
			}
		},
		(Sealing::Aura, None) => unreachable!("new_partial sets GRANDPA up for Aura sealing"),
	}

	Ok(task_manager)
}
