using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Custos.Crypto;
using Custos.Network.Tls;
using Custos.Network.Wire;

namespace Custos.Network.Tests;

[CollectionDefinition("measurements", DisableParallelization = true)]
public sealed class MeasurementCollection;

/// <summary>
/// Figures for docs/network.md: mutually authenticated handshakes per second and one-way frame throughput on
/// loopback, gm against intl. Printed, never asserted (the machine is shared); the test asserts only that every
/// handshake and every byte got through.
/// </summary>
[Collection("measurements")]
public sealed class TransportMeasurements
{
    [Theory]
    [InlineData("gm")]
    [InlineData("intl")]
    public async Task Handshakes_per_second_and_frame_throughput_on_loopback_are_measured(string suiteName)
    {
        var output = TestContext.Current.TestOutputHelper!;
        var suite = CryptoSuites.Parse(suiteName);
        var consortium = new TestConsortium(suite, "org1");
        var (handshakes, seconds) = await MeasureHandshakesAsync(consortium, TimeSpan.FromSeconds(1.5));
        output.WriteLine($"{suiteName}: {handshakes / seconds:F0} mutually authenticated handshakes/s ({handshakes} in {seconds:F2} s, sequential, client and server in one process)");

        const int frameBytes = 64 * 1024;
        const int frames = 1024;
        await using var cluster = TestCluster.Create(suiteName, ["a", "b"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();
        var payload = new byte[frameBytes];
        Random.Shared.NextBytes(payload);
        for (var i = 0; i < 32; i++) Assert.True(cluster["a"].TrySend("b", FrameKind.TransactionBatch, payload, out _));
        Assert.Equal(32, (await cluster["b"].ReceiveAsync(32)).Count);
        var watch = Stopwatch.StartNew();
        var receiving = cluster["b"].ReceiveAsync(frames, TimeSpan.FromSeconds(60));
        for (var i = 0; i < frames; i++) Assert.True(cluster["a"].TrySend("b", FrameKind.TransactionBatch, payload, out _));
        var received = await receiving;
        watch.Stop();

        Assert.Equal(frames, received.Count);
        Assert.All(received, f => Assert.Equal(frameBytes, f.Payload.Length));
        var mebibytes = frames * (double)frameBytes / (1024 * 1024);
        output.WriteLine($"{suiteName}: {mebibytes / watch.Elapsed.TotalSeconds:F1} MiB/s of 64 KiB frames one way ({mebibytes:F0} MiB in {watch.Elapsed.TotalSeconds:F2} s, gRPC over HTTP/2 over TLS 1.3, {cluster["a"].Peer("b").CipherSuite})");
    }

    private static async Task<(int Count, double Seconds)> MeasureHandshakesAsync(TestConsortium consortium, TimeSpan duration)
    {
        var serverStack = TlsStack.For(consortium.Suite, consortium.Issue("a"));
        var clientStack = TlsStack.For(consortium.Suite, consortium.Issue("b"));
        var trust = consortium.Trust();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = (IPEndPoint)listener.LocalEndpoint;
        var count = 0;
        var watch = Stopwatch.StartNew();
        var warmUp = 10;
        while (watch.Elapsed < duration || warmUp > 0)
        {
            using var client = new TcpClient();
            var accepting = AcceptOneAsync(listener, serverStack, trust);
            await client.ConnectAsync(endpoint, TestContext.Current.CancellationToken);
            await using var channel = await clientStack.ConnectAsync(client.GetStream(), "a", HandshakePolicy.ForNode(trust, "a"), TestContext.Current.CancellationToken);
            await using var serverSide = await accepting;
            Assert.Equal("b", serverSide.Peer.CommonName);

            // The first handshakes pay for JIT compilation; they are not counted.
            if (warmUp > 0 && --warmUp == 0) watch.Restart();
            else if (warmUp == 0) count++;
        }

        return (count, watch.Elapsed.TotalSeconds);
    }

    private static async Task<SecureChannel> AcceptOneAsync(TcpListener listener, TlsStack stack, TrustStore trust)
    {
        var socket = await listener.AcceptTcpClientAsync(TestContext.Current.CancellationToken);
        return await stack.AcceptAsync(socket.GetStream(), HandshakePolicy.ForNodes(trust, _ => null), TestContext.Current.CancellationToken);
    }
}
