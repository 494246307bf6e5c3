using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Cards;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Pipeline;

/// <summary>
/// Recent answers by the exact content of their call. An EHR opens the same chart again and again with the same prefetch; when the
/// answer followed from that content alone (every prefetch key given, no fetch from the FHIR server, the score stored and final,
/// the RiskAssessment written) the same content gives the same answer, so it is kept for <see cref="PipelineOptions.AnswerMemoSeconds"/>
/// and handed out again with the new call's hookInstance and the card and suggestion uuids derived from it. Every call still gets
/// its own audit record. Answers that can still change (pending score, data fetched or unavailable, RiskAssessment not yet written,
/// system actions) are never kept. Time-dependent rules (how recent a test or the MRI is) may be up to the memo's lifetime late.
/// </summary>
public sealed class HookAnswerMemo : IDisposable
{
    private const long SizeLimitBytes = 32L * 1024 * 1024;
    private static readonly byte[] Version = "cdsrisk-answer-memo-v1"u8.ToArray();
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = SizeLimitBytes });
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;

    public HookAnswerMemo(IOptions<PipelineOptions> options, TimeProvider time)
    {
        _lifetime = TimeSpan.FromSeconds(options.Value.AnswerMemoSeconds);
        _time = time;
    }

    public bool Enabled => _lifetime > TimeSpan.Zero;

    /// <summary>
    /// SHA-256 over everything an answer can depend on apart from time and stored state: service, hook, fhirServer, context and the
    /// bytes of every prefetch value (absent and null told apart). The FHIR token is left out: a kept answer never used it.
    /// </summary>
    public static string Key(CdsServiceDefinition service, CdsServiceRequest request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Version);
        Add(hash, service.Id);
        Add(hash, request.Hook);
        Add(hash, request.FhirServer);
        var context = request.Context;
        Add(hash, context?.UserId);
        Add(hash, context?.PatientId);
        Add(hash, context?.EncounterId);
        Add(hash, context?.Selections is { } selections ? string.Join('\n', selections) : null);
        Add(hash, context?.DraftOrders);
        foreach (var template in service.Prefetch)
        {
            Add(hash, template.Key);
            if (request.Prefetch is { } prefetch && prefetch.TryGetValue(template.Key, out var value))
            {
                Add(hash, value is { ValueKind: not JsonValueKind.Null } ? value : null);
            }
            else
            {
                AddLength(hash, Absent);
            }
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    public bool TryGet(string key, out MemoizedAnswer answer)
    {
        answer = null!;
        if (!_cache.TryGetValue(key, out Kept? kept) || kept is null || kept.Until <= _time.GetUtcNow())
        {
            return false;
        }

        answer = kept.Answer;
        return true;
    }

    public void Store(string key, MemoizedAnswer answer) =>
        _cache.Set(key, new Kept(answer, _time.GetUtcNow() + _lifetime),
            new MemoryCacheEntryOptions { Size = answer.SizeBytes, AbsoluteExpirationRelativeToNow = _lifetime });

    public void Dispose() => _cache.Dispose();

    // The cache drops entries on its own clock; the lifetime is checked on the service's.
    private sealed record Kept(MemoizedAnswer Answer, DateTimeOffset Until);

    // Each field framed by its length, so that no two different calls hash the same bytes. Negative lengths mark what has no bytes:
    // a string with no value, a JSON null, a prefetch key the call did not send.
    private const int NoString = -1, JsonNull = -2, Absent = -3;

    private static void Add(IncrementalHash hash, string? value)
    {
        if (value is null)
        {
            AddLength(hash, NoString);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(value.Length));
        var length = Encoding.UTF8.GetBytes(value, buffer);
        AddLength(hash, length);
        hash.AppendData(buffer, 0, length);
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private static void Add(IncrementalHash hash, JsonElement? value)
    {
        if (value is not { ValueKind: not JsonValueKind.Undefined } element)
        {
            AddLength(hash, JsonNull);
            return;
        }

        var bytes = JsonMarshal.GetRawUtf8Value(element);
        AddLength(hash, bytes.Length);
        hash.AppendData(bytes);
    }

    private static void AddLength(IncrementalHash hash, int length)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, length);
        hash.AppendData(bytes);
    }
}

/// <summary>
/// The hookInstance an answer was built for (a stand-in) and the uuids derived from it while it was built, in the order they were
/// made: what it takes to make the same text for another hookInstance.
/// </summary>
public sealed class InstanceUuids
{
    private InstanceUuids(string standIn, IReadOnlyList<DeterministicUuid.DerivedUuid> derived) => (StandIn, Derived) = (standIn, derived);

    public string StandIn { get; }

    /// <summary>Only the uuids that depend on the stand-in: their name holds it, or holds a uuid that does.</summary>
    public IReadOnlyList<DeterministicUuid.DerivedUuid> Derived { get; }

    /// <summary>The stand-in, then each derived uuid, as they appear in the text.</summary>
    public IReadOnlyList<string> Placeholders => [StandIn, .. Derived.Select(d => d.Uuid.ToString("D"))];

    public static InstanceUuids From(Guid standIn, IReadOnlyList<DeterministicUuid.DerivedUuid> recorded)
    {
        var stand = standIn.ToString("D");
        var dependent = new List<DeterministicUuid.DerivedUuid>();
        foreach (var d in recorded)
        {
            if (dependent.All(x => x.Uuid != d.Uuid)
                && (d.Name.Contains(stand, StringComparison.Ordinal) || dependent.Any(x => d.Name.Contains(x.Uuid.ToString("D"), StringComparison.Ordinal))))
            {
                dependent.Add(d);
            }
        }

        return new InstanceUuids(stand, dependent);
    }

    /// <summary>As stored: the stand-in and the names (namespace and name) of the derived uuids, which give the uuids again.</summary>
    public static InstanceUuids FromNames(string standIn, IEnumerable<(Guid NameSpace, string Name)> names) =>
        new(standIn, [.. names.Select(n => new DeterministicUuid.DerivedUuid(n.NameSpace, n.Name, DeterministicUuid.Create(n.NameSpace, n.Name)))]);

    /// <summary>Spellings of the stand-in and its uuids that a text must not hold, since only the lower-case "D" form is replaced.</summary>
    public IEnumerable<string> OtherSpellings() =>
        new[] { Guid.Parse(StandIn) }.Concat(Derived.Select(d => d.Uuid)).SelectMany(g => new[] { g.ToString("N"), g.ToString("D").ToUpperInvariant() });

    /// <summary>The value of each placeholder for <paramref name="instance"/>: the instance itself, then each uuid derived again.</summary>
    public byte[][] ValuesFor(string instance)
    {
        var values = new byte[1 + Derived.Count][];
        values[0] = Encoding.ASCII.GetBytes(instance);
        var renamed = new string[Derived.Count];
        for (var i = 0; i < Derived.Count; i++)
        {
            var d = Derived[i];
            var name = d.Name.Replace(StandIn, instance, StringComparison.Ordinal);
            for (var j = 0; j < i; j++)
            {
                name = name.Replace(Derived[j].Uuid.ToString("D"), renamed[j], StringComparison.Ordinal);
            }

            renamed[i] = DeterministicUuid.Create(d.NameSpace, name).ToString("D");
            values[i + 1] = Encoding.ASCII.GetBytes(renamed[i]);
        }

        return values;
    }
}

/// <summary>
/// One kept answer: its JSON with the hookInstance, and every uuid derived from it, cut out, filled in per call; and its audit
/// detail, stored once (<see cref="SharedDetail"/>) and referred to by every call that reuses the answer.
/// </summary>
public sealed class MemoizedAnswer
{
    private readonly InstanceUuids _uuids;
    private readonly JsonTemplate _response;
    private readonly AuditedAssessment? _row;

    private MemoizedAnswer(InstanceUuids uuids, JsonTemplate response, AuditedAssessment? row, int cardCount, string outcome)
    {
        (_uuids, _response, _row) = (uuids, response, row);
        CardCount = cardCount;
        Outcome = outcome;
    }

    public int CardCount { get; }
    public string Outcome { get; }
    public long SizeBytes => _response.SizeBytes + (_row?.Shared?.SizeBytes ?? 0) + 1024;

    /// <summary>
    /// The template of an answer built for the stand-in hookInstance <paramref name="sentinel"/>; <paramref name="derived"/> are the
    /// uuids recorded while it was built. Null when the answer carries the stand-in in a form that cannot be cut out safely.
    /// </summary>
    public static MemoizedAnswer? Create(Guid sentinel, IReadOnlyList<DeterministicUuid.DerivedUuid> derived, byte[] responseUtf8,
        AuditedAssessment? row, int cardCount, string outcome)
    {
        var uuids = InstanceUuids.From(sentinel, derived);

        // Anything else that came from the stand-in (another spelling of it or of a derived uuid) would go out unreplaced: keep nothing.
        var otherSpellings = uuids.OtherSpellings().ToList();
        if (ContainsAny(responseUtf8, otherSpellings) || (row is not null && ContainsAny(row.DetailJson, otherSpellings)))
        {
            return null;
        }

        var shared = row is null ? null : row with { DetailJson = [], Shared = SharedDetail.Create(row.DetailJson, uuids) };
        return new MemoizedAnswer(uuids, JsonTemplate.Cut(responseUtf8, uuids.Placeholders), shared, cardCount, outcome);
    }

    /// <summary>The answer and audit row for <paramref name="invocation"/>: its hookInstance, its card uuids, its time.</summary>
    public (HookAnswer Response, AuditedAssessment? Row) For(HookInvocation invocation)
    {
        var instance = invocation.HookInstance.ToString("D");
        var values = _uuids.ValuesFor(instance);
        var row = _row is null
            ? null
            : _row with { Id = instance, HookInstance = instance, AssessedAt = invocation.ReceivedAt };
        return (new HookAnswer(_response, values), row);
    }

    private static bool ContainsAny(byte[] utf8, IEnumerable<string> values) =>
        values.Any(v => utf8.AsSpan().IndexOf(Encoding.ASCII.GetBytes(v)) >= 0);
}

/// <summary>
/// An audit detail shared by every call answered from the same kept answer: stored once, as built for the stand-in hookInstance,
/// with the names of the uuids derived from it; each call's own detail is that text made for its hookInstance.
/// </summary>
public sealed class SharedDetail
{
    private readonly JsonTemplate _template;

    private SharedDetail(string id, byte[] templateJson, InstanceUuids uuids)
    {
        (Id, TemplateJson, Uuids) = (id, templateJson, uuids);
        _template = JsonTemplate.Cut(templateJson, uuids.Placeholders);
    }

    /// <summary>SHA-256 of the stand-in, the derived names and the text.</summary>
    public string Id { get; }
    public byte[] TemplateJson { get; }
    public InstanceUuids Uuids { get; }
    public long SizeBytes => TemplateJson.Length * 2L;

    public static SharedDetail Create(byte[] templateJson, InstanceUuids uuids)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(uuids.StandIn + "\n" + DerivedJson(uuids) + "\n"));
        hash.AppendData(templateJson);
        return new SharedDetail(Convert.ToHexStringLower(hash.GetHashAndReset()), templateJson, uuids);
    }

    /// <summary>A detail as read back from storage.</summary>
    public static SharedDetail FromStored(string id, byte[] templateJson, string standIn, string derivedJson)
    {
        var names = JsonSerializer.Deserialize<StoredName[]>(derivedJson) ?? [];
        return new SharedDetail(id, templateJson, InstanceUuids.FromNames(standIn, names.Select(n => (n.Ns, n.Name))));
    }

    /// <summary>The derived names as stored: <c>[{"Ns":"…","Name":"…"}]</c>, in order.</summary>
    public static string DerivedJson(InstanceUuids uuids) =>
        JsonSerializer.Serialize(uuids.Derived.Select(d => new StoredName(d.NameSpace, d.Name)).ToArray());

    /// <summary>This detail made for <paramref name="hookInstance"/>.</summary>
    public byte[] For(string hookInstance) => _template.Fill(Uuids.ValuesFor(hookInstance));

    private sealed record StoredName(Guid Ns, string Name);
}

/// <summary>UTF-8 text cut at every occurrence of a set of fixed-length ASCII placeholders; filled with one value per placeholder.</summary>
internal sealed class JsonTemplate
{
    private readonly byte[][] _literals;
    private readonly int[] _slots;

    private JsonTemplate(byte[][] literals, int[] slots) => (_literals, _slots) = (literals, slots);

    public long SizeBytes => _literals.Sum(l => (long)l.Length) + (_slots.Length * 4L);

    public static JsonTemplate Cut(ReadOnlySpan<byte> utf8, IReadOnlyList<string> placeholders)
    {
        var found = new List<(int At, int Length, int Slot)>();
        for (var slot = 0; slot < placeholders.Count; slot++)
        {
            var needle = Encoding.ASCII.GetBytes(placeholders[slot]);
            for (var from = 0; ;)
            {
                var at = utf8[from..].IndexOf(needle);
                if (at < 0)
                {
                    break;
                }

                found.Add((from + at, needle.Length, slot));
                from += at + needle.Length;
            }
        }

        found.Sort((a, b) => a.At.CompareTo(b.At));
        var literals = new List<byte[]>(found.Count + 1);
        var slots = new int[found.Count];
        var position = 0;
        for (var i = 0; i < found.Count; i++)
        {
            if (found[i].At < position)
            {
                throw new InvalidOperationException("placeholders overlap");
            }

            literals.Add(utf8[position..found[i].At].ToArray());
            slots[i] = found[i].Slot;
            position = found[i].At + found[i].Length;
        }

        literals.Add(utf8[position..].ToArray());
        return new JsonTemplate([.. literals], slots);
    }

    public int Length(IReadOnlyList<byte[]> values)
    {
        var length = 0;
        foreach (var literal in _literals)
        {
            length += literal.Length;
        }

        foreach (var slot in _slots)
        {
            length += values[slot].Length;
        }

        return length;
    }

    /// <summary>Writes the filled text to <paramref name="writer"/> piece by piece.</summary>
    public void WriteTo(IBufferWriter<byte> writer, IReadOnlyList<byte[]> values)
    {
        for (var i = 0; i < _literals.Length; i++)
        {
            writer.Write(_literals[i]);
            if (i < _slots.Length)
            {
                writer.Write(values[_slots[i]]);
            }
        }
    }

    public byte[] Fill(IReadOnlyList<byte[]> values)
    {
        var length = 0;
        foreach (var literal in _literals)
        {
            length += literal.Length;
        }

        foreach (var slot in _slots)
        {
            length += values[slot].Length;
        }

        var result = new byte[length];
        var position = 0;
        for (var i = 0; i < _literals.Length; i++)
        {
            _literals[i].CopyTo(result, position);
            position += _literals[i].Length;
            if (i < _slots.Length)
            {
                var value = values[_slots[i]];
                value.CopyTo(result, position);
                position += value.Length;
            }
        }

        return result;
    }
}

/// <summary>A hook's answer, the UTF-8 JSON of a <see cref="CdsServiceResponse"/>, written to the response as it is held.</summary>
public sealed class HookAnswer : IResult
{
    private readonly byte[]? _bytes;
    private readonly JsonTemplate? _template;
    private readonly IReadOnlyList<byte[]>? _values;

    public HookAnswer(byte[] utf8Json) => _bytes = utf8Json;

    internal HookAnswer(JsonTemplate template, IReadOnlyList<byte[]> values) => (_template, _values) = (template, values);

    public int Length => _bytes?.Length ?? _template!.Length(_values!);

    public byte[] ToArray() => _bytes ?? _template!.Fill(_values!);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = Length;
        if (_bytes is not null)
        {
            await response.Body.WriteAsync(_bytes, httpContext.RequestAborted);
            return;
        }

        _template!.WriteTo(response.BodyWriter, _values!);
        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }
}
