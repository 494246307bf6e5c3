using FluentValidation;

namespace CdsRisk.Api.Hooks;

/// <summary>CDS Hooks 2.0 §Feedback.</summary>
public sealed class FeedbackRequestValidator : AbstractValidator<FeedbackRequest>
{
    public FeedbackRequestValidator()
    {
        RuleFor(r => r.Feedback).NotEmpty().WithMessage("feedback must list at least one item.");
        RuleForEach(r => r.Feedback).NotNull().WithMessage("feedback items must be objects.");
        RuleForEach(r => r.Feedback).ChildRules(item =>
        {
            item.RuleFor(f => f!.Card).NotEmpty().WithMessage("card (the card's uuid) is required.");
            item.RuleFor(f => f!.Outcome).Must(o => o is "accepted" or "overridden").WithMessage("outcome must be \"accepted\" or \"overridden\".");
            item.RuleFor(f => f!.OutcomeTimestamp)
                .NotEmpty().WithMessage("outcomeTimestamp is required.")
                .Must(t => DateTimeOffset.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _))
                .When(f => !string.IsNullOrEmpty(f!.OutcomeTimestamp), ApplyConditionTo.CurrentValidator).WithMessage("outcomeTimestamp must be an ISO 8601 date-time.");
            item.RuleFor(f => f!.AcceptedSuggestions).NotEmpty().When(f => f!.Outcome == "accepted" && f.AcceptedSuggestions is not null, ApplyConditionTo.CurrentValidator)
                .WithMessage("acceptedSuggestions, when present, must not be empty.");
            item.RuleForEach(f => f!.AcceptedSuggestions).NotNull().WithMessage("acceptedSuggestions items must be objects.");
            item.RuleForEach(f => f!.AcceptedSuggestions).ChildRules(s => s.RuleFor(x => x!.Id).NotEmpty().WithMessage("id is required."));
            item.RuleFor(f => f!.AcceptedSuggestions).Empty().When(f => f!.Outcome == "overridden", ApplyConditionTo.CurrentValidator)
                .WithMessage("acceptedSuggestions is only for accepted outcomes.");
            item.RuleFor(f => f!.OverrideReason).Null().When(f => f!.Outcome == "accepted", ApplyConditionTo.CurrentValidator)
                .WithMessage("overrideReason is only for overridden outcomes.");
        });
    }
}
