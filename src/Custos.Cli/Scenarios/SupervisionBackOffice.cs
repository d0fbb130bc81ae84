using System.Net;
using System.Net.Sockets;
using System.Text;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity.Consortium;
using Custos.Node;
using Custos.Supervision.Index;

namespace Custos.Cli.Scenarios;

/// <summary>
/// The regulator's back office for the supervision scenario, set up before the nodes start: a local PostgreSQL server
/// for the supervisor node's SQL index, and a webhook receiver on 127.0.0.1 for its alerts; both written into the
/// supervisor node's configuration file.
/// </summary>
internal sealed class SupervisionBackOffice : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _receiving;
    private readonly List<string> _deliveries = [];

    private SupervisionBackOffice(string supervisor, LocalPostgresServer? database, string? databaseUnavailable, HttpListener listener, string webhookUrl)
    {
        Supervisor = supervisor;
        Database = database;
        DatabaseUnavailable = databaseUnavailable;
        _listener = listener;
        WebhookUrl = webhookUrl;
        _receiving = Task.Run(ReceiveAsync);
    }

    public string Supervisor { get; }

    public LocalPostgresServer? Database { get; }

    /// <summary>Why there is no database, when there is none.</summary>
    public string? DatabaseUnavailable { get; }

    public string WebhookUrl { get; }

    /// <summary>The alert bodies the webhook received, in arrival order.</summary>
    public IReadOnlyList<string> Deliveries
    {
        get
        {
            lock (_deliveries) return [.. _deliveries];
        }
    }

    public static Task<SupervisionBackOffice> PrepareAsync(NetworkDirectory network, TextWriter output, CancellationToken cancellationToken)
    {
        var supervisor = network.Chain.Genesis.Observers.FirstOrDefault(o => o.Kind == NodeKind.Supervisor)
            ?? throw new CustosException(ErrorCode.InvalidField, "the supervision scenario needs the regulator's supervisor node (--observers 1 or more)");
        LocalPostgresServer? database = null;
        var unavailable = LocalPostgresServer.Unavailable();
        if (unavailable is null)
        {
            output.WriteLine("supervision: starting a local PostgreSQL server for the supervisor node's index");
            database = LocalPostgresServer.Start();
        }
        else
        {
            output.WriteLine($"supervision: no SQL index ({unavailable})");
        }

        var port = FreePort();
        var url = $"http://127.0.0.1:{port}/alerts/";
        var listener = new HttpListener();
        listener.Prefixes.Add(url);
        listener.Start();

        var path = network.ConfigPath(supervisor.Name);
        var config = NodeConfigurationFile.Load(path) with
        {
            Supervision = new SupervisionSettings { AlertWebhook = url, IndexConnectionString = database?.ConnectionString, IndexLargeTransferThreshold = SupervisionScenario.LargeValueThreshold },
        };
        File.WriteAllBytes(path, config.Encode());
        return Task.FromResult(new SupervisionBackOffice(supervisor.Name, database, unavailable, listener, url));
    }

    private async Task ReceiveAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                var body = await reader.ReadToEndAsync().ConfigureAwait(false);
                lock (_deliveries) _deliveries.Add(body);
            }

            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _receiving.ConfigureAwait(false);
        Database?.Dispose();
    }
}
