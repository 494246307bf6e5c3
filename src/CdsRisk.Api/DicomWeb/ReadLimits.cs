using System.Buffers;

namespace CdsRisk.Api.DicomWeb;

/// <summary>
/// The bytes of one multipart part. Ordinary MR slices (up to 1 MiB) use one array rented from the shared pool for the whole
/// series; a larger part gets an array of its own, grown up to DicomWeb:MaxInstanceBytes and dropped with the series, never
/// handed to the shared pool (which would keep it for the life of the process).
/// </summary>
internal sealed class PartBuffer : IDisposable
{
    internal const int PooledBytes = 1 << 20;
    private readonly int _limit;
    private byte[] _array;
    private bool _pooled;

    public PartBuffer(int limit)
    {
        _limit = limit;
        _array = ArrayPool<byte>.Shared.Rent(Math.Min(PooledBytes, limit));
        _pooled = true;
    }

    /// <summary>What a part may fill now (never more than the limit).</summary>
    public int Capacity => Math.Min(_array.Length, _limit);

    public Memory<byte> Free(int used) => _array.AsMemory(used, Capacity - used);

    public ReadOnlyMemory<byte> Memory(int length) => _array.AsMemory(0, length);

    /// <summary>Makes room for a part of <paramref name="bytes"/> (its declared length) before any of it is read.</summary>
    public void EnsureCapacity(int bytes)
    {
        if (bytes > Capacity)
        {
            Replace(Math.Min(bytes, _limit), keep: 0);
        }
    }

    /// <summary>Doubles the capacity of a full buffer, keeping its content; false when it is already at the limit.</summary>
    public bool TryGrow()
    {
        if (Capacity >= _limit)
        {
            return false;
        }

        Replace((int)Math.Min((long)Capacity * 2, _limit), keep: Capacity);
        return true;
    }

    private void Replace(int size, int keep)
    {
        var bigger = GC.AllocateUninitializedArray<byte>(size);
        _array.AsSpan(0, keep).CopyTo(bigger);
        Release();
        _array = bigger;
    }

    private void Release()
    {
        if (_pooled)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _pooled = false;
        }
    }

    public void Dispose()
    {
        Release();
        _array = [];
    }
}

/// <summary>What one study may cost, all series together: DicomWeb:MaxInstancesPerStudy and DicomWeb:MaxStudyBytes.</summary>
internal sealed class StudyReadBudget(DicomWebOptions options)
{
    private int _instances;
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public void AddInstance(string seriesUid)
    {
        if (Interlocked.Increment(ref _instances) > options.MaxInstancesPerStudy)
        {
            throw new DicomWebException(DicomWebError.LimitExceeded,
                $"the study has more than DicomWeb:MaxInstancesPerStudy ({options.MaxInstancesPerStudy}) instances", seriesUid) { WholeStudy = true };
        }
    }

    public void AddBytes(long bytes, string seriesUid)
    {
        if (Interlocked.Add(ref _bytes, bytes) > options.MaxStudyBytes)
        {
            throw new DicomWebException(DicomWebError.LimitExceeded,
                $"the study is larger than DicomWeb:MaxStudyBytes ({options.MaxStudyBytes} bytes)", seriesUid) { WholeStudy = true };
        }
    }
}

/// <summary>
/// A response body each read of which must bring data within DicomWeb:ReadIdleTimeoutSeconds: a server that stops sending in the
/// middle of an answer is given up on, with an error that says so, instead of holding a scoring slot until the series timeout.
/// </summary>
internal sealed class IdleTimeoutStream : Stream
{
    private readonly Stream _inner;
    private readonly TimeSpan _idle;
    private readonly CancellationToken _outer;
    private readonly CancellationTokenSource _timer;
    private readonly string? _seriesUid;

    public IdleTimeoutStream(Stream inner, TimeSpan idle, CancellationToken outer, string? seriesUid = null)
    {
        _inner = inner;
        _idle = idle;
        _outer = outer;
        _seriesUid = seriesUid;
        _timer = CancellationTokenSource.CreateLinkedTokenSource(outer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The reads of one answer all pass the token the stream was made with; another token is honoured too.
        await using var other = cancellationToken.CanBeCanceled && cancellationToken != _outer
            ? cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _timer)
            : default;
        _timer.CancelAfter(_idle);
        try
        {
            return await _inner.ReadAsync(buffer, _timer.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && _timer.IsCancellationRequested
            && !_outer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var what = _seriesUid is null ? "the DICOMweb answer" : $"series {_seriesUid}";
            throw new DicomWebException(DicomWebError.Unreachable,
                $"{what}: the server sent nothing for DicomWeb:ReadIdleTimeoutSeconds ({_idle.TotalSeconds:0} s) and was given up on", _seriesUid, inner: ex);
        }
        finally
        {
            if (!_timer.IsCancellationRequested)
            {
                _timer.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _timer.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync();
        _timer.Dispose();
        await base.DisposeAsync();
    }
}
