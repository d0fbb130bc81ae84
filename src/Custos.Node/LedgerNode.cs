using System.Net;
using System.Text.Json;
using Custos.Consensus;
using Custos.Contracts.Wasm;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;
using Custos.Crypto.Custody;
using Custos.Execution;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Mempool;
using Custos.Network;
using Custos.Network.Grpc;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Custos.Node.Api;
using Custos.Storage;
using Custos.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Custos.Node;

/// <summary>
/// A running Custos node: storage opened (or created with the genesis block), the peer network, mempool, batch
/// relay, consensus host with speculative execution, the client API over mutual TLS, and the plain HTTP listener
/// for health, metrics and REST. <see cref="StartAsync"/> composes it from a configuration file; disposing stops
/// it in reverse order, so a stopped node leaves a consistent store behind.
/// </summary>
public sealed class LedgerNode : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _stack = [];
    private ConsensusHost? _host;

    private LedgerNode(string name, ChainSetup chain, NodeMetrics metrics)
    {
        Name = name;
        Chain = chain;
        Metrics = metrics;
    }

    public string Name { get; }

    public ChainSetup Chain { get; }

    public NodeMetrics Metrics { get; }

    public IPEndPoint? ApiEndpoint { get; private set; }

    public IPEndPoint? HttpEndpoint { get; private set; }

    public IPEndPoint? P2pEndpoint { get; private set; }

    /// <summary>Set when consensus stopped on a broken invariant or a storage failure; the node serves reads but orders nothing.</summary>
    public string? HaltReason => _host?.HaltReason;

    /// <summary>
    /// Uncommitted transactions a node holds (its pool and every validator's batches) before admission pushes back:
    /// about a second of a small network's capacity, enough to keep blocks full. A longer queue only adds latency, and
    /// costs CPU: every held transaction survives garbage collections and is copied by them (at 10,000 a validator
    /// spent about 3 µs more per transaction, at 3,000 blocks came out smaller and cost more each).
    /// </summary>
    public const int BacklogTransactionsMax = 5_000;

    public static async Task<LedgerNode> StartAsync(string configPath, NodeLog log, CancellationToken cancellationToken = default)
    {
        // Admission and batch verification block a pool thread each while the verification threads work, and TLS
        // links and Kestrel need pool threads to make progress; on a 2-core machine the default minimum (one per
        // core) starved the links for seconds under load. A modest floor is enough now that verification has its
        // own threads; a large one made idle workers spin.
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(completionPorts, 16));
        var config = NodeConfigurationFile.Load(configPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(directory, path));
        string ResolveReference(string reference) => reference.StartsWith("file:", StringComparison.Ordinal) ? "file:" + Resolve(reference["file:".Length..]) : reference;

        var chain = ChainSetup.Load(Resolve(config.Genesis));
        if (chain.GenesisQc is null) throw new CustosException(ErrorCode.InvalidField, "the genesis file has no genesis QC; create it with `custos init`");
        // A node the consortium admitted after genesis is not in the genesis file: it follows as an observer until
        // governance makes it a validator, and its certificate must chain to a CA genesis or its configuration names.
        if (!chain.TryGetNode(config.Node, out var self)) self = chain.NodeIdFor(config.Node);
        var suite = chain.Suite;
        var certificate = ConsortiumCertificate.FromPem(File.ReadAllText(Resolve(config.Certificate)), suite);
        if (certificate.CommonName != config.Node) throw new CustosException(ErrorCode.InvalidField, $"the certificate is for '{certificate.CommonName}', not '{config.Node}'");
        var keySecret = SecretSource.Parse(ResolveReference(config.KeySecret));
        var key = KeyCustody.Open(ResolveReference(config.Key), suite, keySecret);
        if (!key.PublicKey.Equals(certificate.PublicKey)) throw new CustosException(ErrorCode.InvalidField, "the node key does not match its certificate");

        var metrics = new NodeMetrics();
        var node = new LedgerNode(config.Node, chain, metrics);
        try
        {
            await node.ComposeAsync(config, Resolve(config.DataDirectory), Resolve, self, key, keySecret, certificate, log, cancellationToken).ConfigureAwait(false);
            return node;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens the node's store, or creates it with the genesis block, its state and the chain's configuration.</summary>
    public static LedgerStore OpenOrCreateStore(string dataDirectory, ChainSetup chain)
    {
        if (Directory.Exists(dataDirectory) && Directory.EnumerateFileSystemEntries(dataDirectory).Any()) return LedgerStore.Open(dataDirectory, chain.Identity);
        var store = LedgerStore.Create(dataDirectory, chain.Identity);
        try
        {
            var configuration = new List<KeyValuePair<string, ReadOnlyMemory<byte>>>
            {
                new(StoredChain.GenesisEntry, chain.Encoded),
                new(StoredChain.ValidatorSetEntry(0), chain.Validators.ToRecord().ToByteArray()),
                new(StoredChain.NodeNamesEntry, JsonSerializer.SerializeToUtf8Bytes(chain.Nodes.Select(n => n.Name).ToArray())),
            };
            configuration.AddRange(StoredChain.CertificateEntries(0, chain.GenesisQc, null));
            store.Persist(new BlockPersist
            {
                Block = chain.GenesisBlock.Decoded,
                StateWrites = chain.GenesisWrites(),
                Configuration = configuration,
            });
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    private async Task ComposeAsync(NodeConfigurationFile config, string dataDirectory, Func<string, string> resolve, NodeId self, ISigningKey key,
        SecretSource keySecret, ConsortiumCertificate certificate, NodeLog log, CancellationToken cancellationToken)
    {
        var chain = Chain;
        var suite = chain.Suite;
        var clock = TimeProvider.System;
        _stack.Add(new DisposableAdapter(key));

        var store = OpenOrCreateStore(dataDirectory, chain);
        _stack.Add(new DisposableAdapter(store));
        log.Info("store-opened", ("height", store.Head?.Height ?? 0), ("directory", dataDirectory));

        var signatureCheck = new SignatureCheck(suite);
        var signatures = new VerificationPipeline(signatureCheck);
        Metrics.Verifications = () => signatureCheck.Verifications;
        _stack.Add(new DisposableAdapter(signatures));
        // One WASM engine per process: it compiles each module once and pools instances for every executor.
        var contracts = new WasmContractRuntime();
        _stack.Add(new DisposableAdapter(contracts));
        var executor = new BlockExecutor(suite, ChainContracts.Create(contracts), chain.Execution, signatures: signatures, runtime: contracts);
        var batches = new BatchStore(suite, chain.ChainId);
        var pool = new TransactionPool(suite, chain.ChainId, signatures, new MempoolLimits { TransactionsMax = BacklogTransactionsMax })
        {
            HeldElsewhere = () => batches.HeldTransactions,
        };
        var configuredAuthorities = (config.Authorities ?? []).Select(path => ConsortiumCertificate.FromPem(File.ReadAllText(resolve(path)), suite)).ToList();
        var trust = new TrustStore(new CertificateValidator(suite, chain.Genesis.Organisations
            .Select(o => ConsortiumCertificate.FromPem(o.CaCertificate, suite)).Concat(configuredAuthorities).DistinctBy(c => c.Fingerprint)), clock);
        var identity = new TlsIdentity(certificate, key);

        var peers = config.Peers.Select(PeerEndpoint.Parse).ToList();
        var network = new GrpcPeerNetwork(new GrpcPeerNetworkConfiguration
        {
            LocalNode = config.Node,
            Listen = ParseEndpoint(config.P2pListen),
            Peers = peers,
            Identity = identity,
            Trust = trust,
        });
        _stack.Add(network);

        var membership = new ConsortiumMembership(chain, config.Node, trust, network, configuredAuthorities, log);
        membership.Apply(new StoreStateReader(store));

        var execution = new SpeculativeExecution(chain, store, executor, signatures, batches) { Log = log };
        var feed = new CommitFeed();
        var host = new ConsensusHost(chain, self, key, store, execution, network, pool, batches, feed, Metrics, log, clock);
        _host = host;
        host.ConsortiumChanged = () => membership.Apply(new StoreStateReader(store));
        _stack.Add(new DisposableAdapter(host));
        var author = chain.Validators.TryIndexOf(self, out var index) ? index : (uint)self.Value;
        // Private data (PRI-2) is sealed under a key derived from a key file that the node key's passphrase protects.
        var committed = new StoreStateReader(store);
        var privacy = PrivateDataService.Open(dataDirectory, certificate.Organisation, suite, keySecret, clock, committed,
            NodeOrganisations.For(chain, committed), network, log);
        _stack.Add(privacy);
        var relay = new PeerRelay(chain, author, network, pool, batches, signatures, host, log, clock) { Privacy = privacy };
        _stack.Add(relay);

        var queries = new LedgerQueries(chain, config.Node, store, pool, feed, () => (host.Round, host.Epoch, host.IsValidator, host.ValidatorCount), network, relay.TransactionsArrived, Metrics);
        Metrics.Peers = () => network.Peers;
        Metrics.Gauges = () => (pool.Count, network.Peers.Count(p => p.State == PeerState.Connected), network.Peers.Count);

        var api = await SecureListener.StartAsync(new SecureListenerOptions
        {
            Endpoint = ParseEndpoint(config.ApiListen),
            Stack = TlsStack.For(suite, identity),
            Policy = HandshakePolicy.ForClients(trust),
            ConfigureServices = services => services.AddSingleton(queries),
            Configure = app => app.MapGrpcService<LedgerApiService>(),
        }, cancellationToken).ConfigureAwait(false);
        _stack.Add(api);
        ApiEndpoint = api.Endpoint;

        SupervisorServices? supervisor = null;
        if (config.Kind == NodeKind.Supervisor)
        {
            supervisor = await SupervisorServices.StartAsync(config.Supervision ?? new SupervisionSettings(), resolve, chain, store, feed, log, cancellationToken).ConfigureAwait(false);
            _stack.Add(supervisor);
        }

        if (config.HttpListen is { } httpListen)
        {
            var signature = new RequestSignature(trust, clock);
            Action<WebApplication> extend = app =>
            {
                app.MapPrivateData(privacy, new PrivateDataAccess(signature, trust));
                if (supervisor is null) return;
                var access = new SupervisionAccess(signature, trust, log, privacy.AuditLog);
                app.MapSupervisionAlerts(supervisor.Alerts, supervisor.Feed, access);
                if (supervisor.Queries is { } queries) app.MapSupervisionAudit(queries, access, trust, log);
            };
            var http = await HttpApi.StartAsync(ParseEndpoint(httpListen), queries, Metrics, config.Node, () => host.HaltReason, signature, cancellationToken, extend).ConfigureAwait(false);
            _stack.Add(http);
            HttpEndpoint = http.Endpoint;
        }

        await network.StartAsync(cancellationToken).ConfigureAwait(false);
        P2pEndpoint = ParseEndpoint(config.P2pListen);
        host.Start();
        privacy.Start();
        relay.Start();
        log.Info("node-started", ("chain", chain.ChainId), ("suite", suite.Name), ("validator", host.IsValidator),
            ("p2p", config.P2pListen), ("api", ApiEndpoint?.ToString()), ("http", HttpEndpoint?.ToString()));
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _stack.Count - 1; i >= 0; i--)
        {
            try
            {
                await _stack[i].DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException or IOException)
            {
                // Stopping goes on: the store, disposed last, must still be closed.
            }
        }

        _stack.Clear();
    }

    private static IPEndPoint ParseEndpoint(string text) => IPEndPoint.TryParse(text, out var endpoint)
        ? endpoint
        : throw new CustosException(ErrorCode.InvalidField, $"'{text}' is not an IP address and port");

    private sealed class DisposableAdapter(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
