using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Patients;

public sealed class FhirDateTests
{
    [Theory]
    [InlineData("2026-06-05T08:00:00Z")]
    [InlineData("2026-06-05T08:00:00+02:00")]
    [InlineData("2026-06-05T08:00:00-05:30")]
    [InlineData("2026-06-05T08:00:00.5Z")]
    [InlineData("2026-06-05T08:00:00.123456789+00:00")]
    [InlineData("2024-02-29T23:59:59Z")]
    public void FastPath_AgreesWithFirely(string text)
    {
        Assert.True(FhirRead.TryParseFullDateTime(text, out var fast));
        Assert.True(new FhirDateTime(text).TryToDateTimeOffset(TimeSpan.Zero, out var firely));
        Assert.Equal(firely, fast);
        Assert.Equal(firely.Offset, fast.Offset);
    }

    [Theory]
    [InlineData("2026-06-05")]
    [InlineData("2026-06")]
    [InlineData("2026-06-05T08:00:00")]
    [InlineData("2026-02-30T08:00:00Z")]
    [InlineData("2026-06-05T24:00:00Z")]
    [InlineData("2026-06-05T08:00:00.Z")]
    [InlineData("2026-06-05T08:00:00+2:00")]
    [InlineData("yesterday at noon, roughly")]
    public void FastPath_LeavesOtherShapesToFirely(string text) =>
        Assert.False(FhirRead.TryParseFullDateTime(text, out _));

    [Fact]
    public void PartialDates_StillParseThroughFirely() =>
        Assert.Equal(new DateTimeOffset(2026, 6, 5, 0, 0, 0, TimeSpan.Zero), FhirRead.Parse(new FhirDateTime("2026-06-05")));
}
