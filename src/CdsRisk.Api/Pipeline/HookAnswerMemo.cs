using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CdsRisk.Api.Diagnostics;
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
/// Two ways in: by content (<see cref="Key"/>, the call read in full) and by bytes (<see cref="TryRecall"/>, before the body is
/// parsed, for a body that repeats a remembered one outside its hookInstance and fhirAuthorization).
/// </summary>
public sealed class HookAnswerMemo : IDisposable
{
    private const long SizeLimitBytes = 32L * 1024 * 1024;
    private static readonly byte[] Version = "cdsrisk-answer-memo-v1"u8.ToArray();
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = SizeLimitBytes });
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;
    private readonly PatientIdHash _patientIds;

    // patientIds: the keyed log pseudonym (a random key of its own when not given, as in unit tests).
    public HookAnswerMemo(IOptions<PipelineOptions> options, TimeProvider time, PatientIdHash? patientIds = null)
    {
        _lifetime = TimeSpan.FromSeconds(options.Value.AnswerMemoSeconds);
        _time = time;
        _patientIds = patientIds ?? new PatientIdHash(RandomNumberGenerator.GetBytes(32));
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

    public bool TryGet(string key, out KeptAnswer kept)
    {
        if (!_cache.TryGetValue(key, out KeptAnswer? found) || found is null || found.Until <= _time.GetUtcNow())
        {
            kept = null!;
            return false;
        }

        kept = found;
        return true;
    }

    public KeptAnswer Store(string key, MemoizedAnswer answer)
    {
        var kept = new KeptAnswer(answer, _time.GetUtcNow() + _lifetime);
        _cache.Set(key, kept, new MemoryCacheEntryOptions { Size = answer.SizeBytes, AbsoluteExpirationRelativeToNow = _lifetime });
        return kept;
    }

    /// <summary>
    /// The kept answer for a body whose bytes, outside its hookInstance and fhirAuthorization values, are exactly those of a body
    /// remembered with <see cref="Remember"/> for the same service. Such a body is that body with two values replaced, so it reads
    /// as that body did; the two values are checked here as the validator checks them (hookInstance a UUID; fhirAuthorization of
    /// the same kind, and when an object, complete). Anything else, or any doubt, is a miss: the call is then read in full.
    /// </summary>
    public bool TryRecall(string serviceId, ReadOnlySpan<byte> body, JsonSerializerOptions options, out RecalledAnswer recalled)
    {
        recalled = null!;
        if (!Enabled || !HookBodyShape.TryFind(body, out var shape) || KindOf(body, shape.Authorization) is not { } kind)
        {
            return false;
        }

        Span<Range> ranges = stackalloc Range[3];
        ranges = ranges[..shape.Rest(body.Length, ranges)];
        if (!_cache.TryGetValue(new RawKey(serviceId, RawHash(serviceId, body, ranges, kind)), out RawEntry? entry) || entry is null
            || entry.Kept.Until <= _time.GetUtcNow() || entry.Kind != kind || !entry.Matches(body, ranges)
            || !TryReadInstance(body[shape.Instance.Start..shape.Instance.End], out var instance, out var instanceText))
        {
            return false;
        }

        FhirAuthorization? authorization = null;
        if (kind == AuthorizationKind.Object
            && !TryReadAuthorization(body[shape.Authorization!.Value.Start..shape.Authorization.Value.End], options, out authorization))
        {
            return false;
        }

        recalled = new RecalledAnswer(
            entry.Kept.Answer,
            entry.Request with { HookInstance = instanceText, FhirAuthorization = authorization },
            entry.Invocation with { HookInstance = instance, Authorization = authorization, ReceivedAt = DateTimeOffset.UtcNow },
            entry.PatientHash);
        return true;
    }

    /// <summary>
    /// Lets later calls with these exact bytes (hookInstance and fhirAuthorization aside) find <paramref name="kept"/> without
    /// reading the body (<see cref="TryRecall"/>). <paramref name="request"/> and <paramref name="invocation"/> are this body as read
    /// and validated. Kept no longer than <paramref name="kept"/> itself; nothing is kept unless the quick look at the body and a full
    /// reading agree on where the two values are.
    /// </summary>
    public void Remember(string serviceId, ReadOnlySpan<byte> body, int maxDepth, CdsServiceRequest request, HookInvocation invocation, KeptAnswer kept)
    {
        var remaining = kept.Until - _time.GetUtcNow();
        if (!Enabled || remaining <= TimeSpan.Zero || !kept.HasSpellingsLeft || !HookBodyShape.TryFind(body, out var shape)
            || HookBodyShape.TryLocate(body, maxDepth) != shape || KindOf(body, shape.Authorization) is not { } kind
            || (kind == AuthorizationKind.Object) != (request.FhirAuthorization is not null) || !kept.TakeSpelling())
        {
            return;
        }

        Span<Range> ranges = stackalloc Range[3];
        ranges = ranges[..shape.Rest(body.Length, ranges)];
        var rest = new byte[ranges.Length][];
        for (var i = 0; i < ranges.Length; i++)
        {
            rest[i] = body[ranges[i]].ToArray();
        }

        var context = request.Context is { } c ? c with { DraftOrders = c.DraftOrders?.Clone() } : null;
        var entry = new RawEntry(
            rest,
            kind,
            kept,
            request with { HookInstance = null, FhirAuthorization = null, Context = context, Prefetch = null, Extension = null },
            invocation with { Authorization = null, DraftOrders = invocation.DraftOrders?.Clone() },
            _patientIds.Of(invocation.PatientId));
        _cache.Set(new RawKey(serviceId, RawHash(serviceId, body, ranges, kind)), entry,
            new MemoryCacheEntryOptions { Size = body.Length + kept.Answer.SizeBytes, AbsoluteExpirationRelativeToNow = remaining });
    }

    public void Dispose() => _cache.Dispose();

    private enum AuthorizationKind
    {
        Absent = 1,
        Null = 2,
        Object = 3,
    }

    private static AuthorizationKind? KindOf(ReadOnlySpan<byte> body, BodySpan? authorization) => authorization switch
    {
        null => AuthorizationKind.Absent,
        { } a when body[a.Start..a.End].SequenceEqual("null"u8) => AuthorizationKind.Null,
        { } a when body[a.Start] == (byte)'{' => AuthorizationKind.Object,
        _ => null, // a kind the serializer refuses: the full reading names it
    };

    // Non-cryptographic: a hit is only taken after the bytes themselves compare equal.
    private static ulong RawHash(string serviceId, ReadOnlySpan<byte> body, ReadOnlySpan<Range> rest, AuthorizationKind kind)
    {
        var hash = (long)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(serviceId.AsSpan()), (long)kind);
        foreach (var range in rest)
        {
            hash = (long)XxHash3.HashToUInt64(body[range], hash);
        }

        return (ulong)hash;
    }

    // Stricter than the validator (exactly 36 characters, no escapes): anything else is read in full.
    private static bool TryReadInstance(ReadOnlySpan<byte> token, out Guid instance, out string text)
    {
        instance = Guid.Empty;
        text = "";
        var value = token[1..^1];
        if (value.Length != 36 || !Utf8Parser.TryParse(value, out instance, out var consumed, 'D') || consumed != 36)
        {
            return false;
        }

        text = Encoding.ASCII.GetString(value);
        return true;
    }

    // As the full reading: the same serializer options, one level less of depth (the value sits inside the body's object), and the
    // validator's rules for fhirAuthorization (CdsServiceRequestValidator; FluentValidation's NotEmpty refuses blank text).
    private bool TryReadAuthorization(ReadOnlySpan<byte> value, JsonSerializerOptions options, out FhirAuthorization? authorization)
    {
        authorization = null;
        try
        {
            authorization = JsonSerializer.Deserialize<FhirAuthorization>(value, NestedOptions(options));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }

        return authorization is { TokenType: "Bearer", ExpiresIn: > 0 }
            && !string.IsNullOrWhiteSpace(authorization.AccessToken)
            && !string.IsNullOrWhiteSpace(authorization.Scope)
            && !string.IsNullOrWhiteSpace(authorization.Subject);
    }

    private JsonSerializerOptions NestedOptions(JsonSerializerOptions options)
    {
        var nested = _nestedOptions;
        if (nested?.Source != options)
        {
            var copy = new JsonSerializerOptions(options) { MaxDepth = (options.MaxDepth == 0 ? 64 : options.MaxDepth) - 1 };
            copy.MakeReadOnly(populateMissingResolver: true);
            nested = _nestedOptions = new NestedOptionsFor(options, copy);
        }

        return nested.Nested;
    }

    private NestedOptionsFor? _nestedOptions;

    private sealed record NestedOptionsFor(JsonSerializerOptions Source, JsonSerializerOptions Nested);

    private readonly record struct RawKey(string ServiceId, ulong Hash);

    private sealed class RawEntry(byte[][] rest, AuthorizationKind kind, KeptAnswer kept, CdsServiceRequest request, HookInvocation invocation, string patientHash)
    {
        public AuthorizationKind Kind { get; } = kind;
        public KeptAnswer Kept { get; } = kept;
        public CdsServiceRequest Request { get; } = request;
        public HookInvocation Invocation { get; } = invocation;
        public string PatientHash { get; } = patientHash;

        public bool Matches(ReadOnlySpan<byte> body, ReadOnlySpan<Range> ranges)
        {
            if (ranges.Length != rest.Length)
            {
                return false;
            }

            for (var i = 0; i < ranges.Length; i++)
            {
                if (!body[ranges[i]].SequenceEqual(rest[i]))
                {
                    return false;
                }
            }

            return true;
        }
    }

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

/// <summary>A kept answer and until when it may be handed out (the cache drops entries on its own clock; this is the service's).</summary>
public sealed class KeptAnswer(MemoizedAnswer answer, DateTimeOffset until)
{
    /// <summary>How many spellings (byte sequences) of its call one kept answer is remembered by, at most.</summary>
    public const int MaxSpellings = 4;

    private int _spellings;

    public MemoizedAnswer Answer { get; } = answer;
    public DateTimeOffset Until { get; } = until;

    // A client that spells the same content differently each time (say, members in a random order) would otherwise add an entry
    // per call and push kept answers out of the memo.
    internal bool HasSpellingsLeft => Volatile.Read(ref _spellings) < MaxSpellings;

    internal bool TakeSpelling() => Interlocked.Increment(ref _spellings) <= MaxSpellings;
}

/// <summary>A kept answer found by a call's bytes, with that call as the validator and the pipeline would have read it.</summary>
public sealed record RecalledAnswer(MemoizedAnswer Answer, CdsServiceRequest Request, HookInvocation Invocation, string PatientHash);

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
