using System.Buffers;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom.Synthetic;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.DicomWeb;

/// <summary>
/// A hostile or broken DICOMweb server (issue 13 items 8 and 9): too many instances, parts too large or lying about their length,
/// a study too large, an endless QIDO answer, a server that stops sending. Each ends in a clear refusal naming the limit, with the
/// memory it takes bounded by that limit.
/// </summary>
public sealed class DicomWebHostileServerTests
{
    private static readonly Uri Server = new("https://pacs.example.org/dicom-web");
    private const string StudyUid = "1.2.826.0.1.3680043.10.1437.77";
    private const string Boundary = "hostile-boundary";

    /// <summary>Answers QIDO (study and series) and WADO-RS from functions; records the paths asked for.</summary>
    private sealed class Pacs(IReadOnlyList<string> series, Func<string, HttpContent> seriesBody) : HttpMessageHandler
    {
        public List<string> Asked { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            lock (Asked)
            {
                Asked.Add(request.RequestUri.PathAndQuery);
            }

            HttpContent content;
            if (path.EndsWith("/studies", StringComparison.Ordinal))
            {
                content = Json($$$"""[{"0020000D":{"vr":"UI","Value":["{{{StudyUid}}}"]},"00080020":{"vr":"DA","Value":["20261120"]}}]""");
            }
            else if (path.EndsWith("/series", StringComparison.Ordinal))
            {
                content = Json("[" + string.Join(",", series.Select(s => $$$"""{"0020000E":{"vr":"UI","Value":["{{{s}}}"]}}""")) + "]");
            }
            else
            {
                content = seriesBody(path.Split('/').Last());
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
        }

        private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/dicom+json");
    }

    private static DicomWebClient Client(HttpMessageHandler pacs, Action<DicomWebOptions>? configure = null)
    {
        var options = new DicomWebOptions { AllowedServers = [Server.AbsoluteUri] };
        configure?.Invoke(options);
        return new DicomWebClient(new HttpClient(pacs), Options.Create(options), Options.Create(PhaseRules.Default), NullLogger<DicomWebClient>.Instance);
    }

    private static Task<StudyImagingResult> LoadAsync(DicomWebClient client, params string[] listedSeries) =>
        client.LoadStudyAsync(new ImagingStudyReference(Server, StudyUid, listedSeries), PhaseRules.Default, ImageInputSpec.Default,
            new DateOnly(2026, 11, 27), CancellationToken.None);

    private static HttpContent Multipart(IEnumerable<byte[]> parts, bool lengths = true)
    {
        var body = new MemoryStream();
        foreach (var part in parts)
        {
            body.Write(Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: application/dicom\r\n{(lengths ? $"Content-Length: {part.Length}\r\n" : "")}\r\n"));
            body.Write(part);
            body.Write("\r\n"u8);
        }

        body.Write(Encoding.ASCII.GetBytes($"--{Boundary}--\r\n"));
        body.Position = 0;
        return Typed(new StreamContent(body));
    }

    private static HttpContent Typed(HttpContent content)
    {
        content.Headers.TryAddWithoutValidation("Content-Type", $"multipart/related; type=\"application/dicom\"; boundary={Boundary}");
        return content;
    }

    /// <summary>Tiny but valid MR instances (2 × 2 pixels).</summary>
    private static IEnumerable<byte[]> TinyInstances(string seriesUid, int count)
    {
        var study = new SyntheticMrStudy { StudyInstanceUid = StudyUid, Rows = 2, Columns = 2, Slices = 1 };
        var template = study.Instance(0, 0);
        return Enumerable.Repeat(template, count);
    }

    [Fact]
    public async Task HostileSeries_MoreInstancesThanMaxInstancesPerSeries_IsSetAsideNamingTheLimit()
    {
        var pacs = new Pacs(["1.2.3.1", "1.2.3.2"], series => Multipart(TinyInstances(series, series == "1.2.3.1" ? 11 : 3)));
        var result = await LoadAsync(Client(pacs, o => o.MaxInstancesPerSeries = 10));

        Assert.False(result.IsAccepted);
        var tooLarge = Assert.Single(result.SkippedVolumes, r => r.Reason == ImagingRefusalReason.TooLarge);
        Assert.Equal("1.2.3.1", tooLarge.SeriesInstanceUid);
        Assert.Contains("DicomWeb:MaxInstancesPerSeries (10)", tooLarge.Detail, StringComparison.Ordinal);
        // The other series was still read and judged on its own.
        Assert.DoesNotContain(result.SkippedVolumes, r => r.Reason == ImagingRefusalReason.TooLarge && r.SeriesInstanceUid == "1.2.3.2");
    }

    [Fact]
    public async Task HostileStudy_MoreInstancesThanMaxInstancesPerStudy_IsRefusedAsAWholeNamingTheLimit()
    {
        var series = Enumerable.Range(1, 4).Select(i => $"1.2.3.{i}").ToList();
        var pacs = new Pacs(series, uid => Multipart(TinyInstances(uid, 8)));
        var result = await LoadAsync(Client(pacs, o => o.MaxInstancesPerStudy = 20));

        var refusal = Assert.Single(result.Refusals);
        Assert.Equal(ImagingRefusalReason.TooLarge, refusal.Reason);
        Assert.Contains("DicomWeb:MaxInstancesPerStudy (20)", refusal.Detail, StringComparison.Ordinal);
        Assert.Empty(result.Phases);
    }

    [Fact]
    public async Task HostileStudy_MoreBytesThanMaxStudyBytes_IsRefusedNamingTheLimit()
    {
        var series = Enumerable.Range(1, 4).Select(i => $"1.2.3.{i}").ToList();
        var pacs = new Pacs(series, uid => Multipart(TinyInstances(uid, 8)));
        var one = TinyInstances("1.2.3.1", 1).First().Length;
        var result = await LoadAsync(Client(pacs, o => o.MaxStudyBytes = one * 10L));

        var refusal = Assert.Single(result.Refusals);
        Assert.Equal(ImagingRefusalReason.TooLarge, refusal.Reason);
        Assert.Contains("DicomWeb:MaxStudyBytes", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostileStudy_MoreSeriesThanMaxSeriesPerStudy_IsRefusedBeforeAnySeriesIsRead()
    {
        var series = Enumerable.Range(1, 12).Select(i => $"1.2.3.{i}").ToList();
        var pacs = new Pacs(series, uid => Multipart(TinyInstances(uid, 1)));
        var result = await LoadAsync(Client(pacs, o => o.MaxSeriesPerStudy = 10));

        Assert.Contains("DicomWeb:MaxSeriesPerStudy (10)", Assert.Single(result.Refusals).Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(pacs.Asked, p => p.Contains("/series/", StringComparison.Ordinal));
    }

    /// <summary>A part with no Content-Length that never ends: the reader stops at the limit, having read at most a little more.</summary>
    private sealed class EndlessPart : Stream
    {
        private readonly byte[] _head = Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: application/dicom\r\n\r\n");
        private long _position;

        public long Served => _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = 0;
            while (n < count && _position < _head.Length)
            {
                buffer[offset + n++] = _head[_position++];
            }

            // DICOM-ish filler: never a CR, so never a boundary.
            buffer.AsSpan(offset + n, count - n).Fill(0x44);
            _position += count - n;
            return count;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task HostilePart_WithoutContentLength_BeyondMaxInstanceBytes_IsRefusedWithoutReadingIt()
    {
        var endless = new EndlessPart();
        var pacs = new Pacs(["1.2.3.1"], _ => Typed(new StreamContent(endless)));
        const int limit = 3 * 1024 * 1024;
        var result = await LoadAsync(Client(pacs, o => o.MaxInstanceBytes = limit));

        var refusal = Assert.Single(result.SkippedVolumes, r => r.Reason == ImagingRefusalReason.TooLarge);
        Assert.Contains($"DicomWeb:MaxInstanceBytes ({limit})", refusal.Detail, StringComparison.Ordinal);
        // Read no further than the limit plus what the multipart reader buffers ahead.
        Assert.InRange(endless.Served, limit, limit + 256 * 1024);
    }

    [Fact]
    public async Task HostilePart_DeclaringMoreThanMaxInstanceBytes_IsRefusedBeforeItsBodyIsRead()
    {
        var head = Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: application/dicom\r\nContent-Length: 600000000\r\n\r\n");
        var endless = new EndlessPart();
        var pacs = new Pacs(["1.2.3.1"], _ => Typed(new StreamContent(new ConcatStream(head, endless))));
        var result = await LoadAsync(Client(pacs, o => o.MaxInstanceBytes = 1024 * 1024));

        var refusal = Assert.Single(result.SkippedVolumes, r => r.Reason == ImagingRefusalReason.TooLarge);
        Assert.Contains("an instance of 600000000 bytes exceeds DicomWeb:MaxInstanceBytes", refusal.Detail, StringComparison.Ordinal);
        Assert.True(endless.Served < 1024 * 1024, $"read {endless.Served} bytes of a part refused by its header");
    }

    [Fact]
    public async Task PartLyingAboutItsContentLength_IsAnInvalidResponseNamingBothLengths()
    {
        var instance = TinyInstances("1.2.3.1", 1).First();
        var body = new MemoryStream();
        body.Write(Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: application/dicom\r\nContent-Length: 10\r\n\r\n"));
        body.Write(instance);
        body.Write(Encoding.ASCII.GetBytes($"\r\n--{Boundary}--\r\n"));
        body.Position = 0;
        var pacs = new Pacs(["1.2.3.1"], _ => Typed(new StreamContent(body)));
        var result = await LoadAsync(Client(pacs));

        var refusal = Assert.Single(result.Refusals, r => r.Reason == ImagingRefusalReason.ServerError);
        Assert.Contains($"declares 10 bytes (Content-Length) and carries {instance.Length}", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostileQidoAnswer_BeyondMaxQueryBytes_IsALimitErrorNamingIt()
    {
        var huge = "[" + string.Join(",", Enumerable.Repeat("""{"0020000E":{"vr":"UI","Value":["1.2.3.4"]}}""", 2000)) + "]";
        var pacs = new FakeJson(huge);
        var ex = await Assert.ThrowsAsync<DicomWebException>(() => Client(pacs, o => o.MaxQueryBytes = 16 * 1024).SearchMrSeriesAsync(Server, StudyUid, CancellationToken.None));
        Assert.Equal(DicomWebError.LimitExceeded, ex.Error);
        Assert.Contains("DicomWeb:MaxQueryBytes", ex.Message, StringComparison.Ordinal);
    }

    private sealed class FakeJson(string json) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/dicom+json") });
    }

    /// <summary>Sends the start of a series, then nothing, ever (until the reader gives up).</summary>
    private sealed class StallingStream(byte[] head) : Stream
    {
        private int _position;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < head.Length)
            {
                var n = Math.Min(buffer.Length, head.Length - _position);
                head.AsMemory(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task ServerThatStopsSendingMidSeries_IsGivenUpAfterReadIdleTimeout_NamingIt()
    {
        var instance = TinyInstances("1.2.3.1", 1).First();
        var head = Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {instance.Length}\r\n\r\n")
            .Concat(instance.Take(100)).ToArray();
        var pacs = new Pacs(["1.2.3.1"], _ => Typed(new StreamContent(new StallingStream(head))));
        var client = Client(pacs, o =>
        {
            o.ReadIdleTimeoutSeconds = 1;
            o.SeriesTimeoutSeconds = 3600;
        });

        var ex = await Assert.ThrowsAsync<DicomWebException>(() => LoadAsync(client));
        Assert.Equal(DicomWebError.Unreachable, ex.Error);
        Assert.Contains("DicomWeb:ReadIdleTimeoutSeconds (1 s)", ex.Message, StringComparison.Ordinal);
        Assert.Equal("1.2.3.1", ex.SeriesInstanceUid);
    }

    [Fact]
    public async Task Redirect_IsAnErrorNamingTheStatus_NotFollowed()
    {
        var handler = new RedirectingHandler();
        var ex = await Assert.ThrowsAsync<DicomWebException>(() => Client(handler).SearchMrSeriesAsync(Server, StudyUid, CancellationToken.None));
        Assert.Equal(DicomWebError.HttpError, ex.Error);
        Assert.Equal(302, ex.StatusCode);
        Assert.Contains("redirect (HTTP 302)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, handler.Calls);
    }

    private sealed class RedirectingHandler : HttpMessageHandler
    {
        public int Calls { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Calls++;
            var response = new HttpResponseMessage(HttpStatusCode.Found);
            response.Headers.Location = new Uri("https://evil.example.net/dicom-web/studies");
            return Task.FromResult(response);
        }
    }

    [Fact]
    public void PartBuffer_LargerThanThePooledSize_IsNeverReturnedToTheSharedPool()
    {
        byte[] large;
        using (var buffer = new PartBuffer(64 * 1024 * 1024))
        {
            buffer.EnsureCapacity(4 * 1024 * 1024);
            Assert.True(MemoryMarshal.TryGetArray(buffer.Memory(1), out var segment));
            large = segment.Array!;
            Assert.True(large.Length >= 4 * 1024 * 1024);
        }

        // The shared pool hands back, on this thread, the array returned last of a size class; a large part buffer is never one of them.
        var rented = ArrayPool<byte>.Shared.Rent(large.Length);
        try
        {
            Assert.NotSame(large, rented);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    [Fact]
    public void PartBuffer_GrowsByDoublingUpToItsLimit_KeepingItsContent()
    {
        using var buffer = new PartBuffer(3 * 1024 * 1024);
        Assert.Equal(PartBuffer.PooledBytes, buffer.Capacity);
        buffer.Free(0).Span[..4].Fill(7);
        Assert.True(buffer.TryGrow());
        Assert.Equal(2 * PartBuffer.PooledBytes, buffer.Capacity);
        Assert.True(buffer.TryGrow());
        Assert.Equal(3 * 1024 * 1024, buffer.Capacity);
        Assert.False(buffer.TryGrow());
        Assert.Equal([7, 7, 7, 7], buffer.Memory(4).ToArray());
    }

    private sealed class ConcatStream(byte[] head, Stream tail) : Stream
    {
        private int _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position < head.Length)
            {
                var n = Math.Min(count, head.Length - _position);
                Array.Copy(head, _position, buffer, offset, n);
                _position += n;
                return n;
            }

            return tail.Read(buffer, offset, count);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
