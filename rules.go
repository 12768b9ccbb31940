package urltracker

import (
	"fmt"
	"regexp"
	"strings"
)

// Rules are an offer's own demands on its landing page and chain, judged
// after the built-in ones.
type Rules struct {
	// MustContain and MustNotContain are plain text, matched against the
	// landing's visible text ignoring case, accents and spacing, or
	// /regular expressions/ (Go syntax), matched against its HTML.
	MustContain    []string `json:"must_contain"`
	MustNotContain []string `json:"must_not_contain"`
	// MaxTotalMS: a chain that takes longer gets the verdict slow; 0 is
	// no limit.
	MaxTotalMS int64 `json:"max_total_ms"`
	// MaxHops: a chain with more redirects gets the verdict too_many_hops;
	// 0 leaves only the global limit.
	MaxHops int `json:"max_hops"`
	// RefusedIsBroken turns the verdict refused (the landing answered 403
	// or 429) into broken, which counts toward a hold.
	RefusedIsBroken bool `json:"refused_is_broken"`
}

// Limits of a rule set, so that one offer's rules stay cheap to judge.
const (
	MaxRuleEntries = 20
	MaxRuleLength  = 500
	MaxRuleTotalMS = 300_000
	MaxRuleHops    = 100
)

// IsRegexRule reports whether a content rule is a /regular expression/,
// and returns the expression.
func IsRegexRule(rule string) (expr string, ok bool) {
	if len(rule) >= 2 && strings.HasPrefix(rule, "/") && strings.HasSuffix(rule, "/") {
		return rule[1 : len(rule)-1], true
	}
	return "", false
}

// normalize trims the content rules and drops empty ones.
func (r Rules) normalize() Rules {
	for _, list := range []*[]string{&r.MustContain, &r.MustNotContain} {
		kept := []string{}
		for _, s := range *list {
			if s = strings.TrimSpace(s); s != "" {
				kept = append(kept, s)
			}
		}
		*list = kept
	}
	return r
}

// validate adds what is wrong with each rule to fe.
func (r Rules) validate(fe FieldErrors) {
	for field, list := range map[string][]string{"rules.must_contain": r.MustContain, "rules.must_not_contain": r.MustNotContain} {
		if len(list) > MaxRuleEntries {
			fe[field] = fmt.Sprintf("at most %d entries", MaxRuleEntries)
			continue
		}
		for i, s := range list {
			if len(s) > MaxRuleLength {
				fe[field] = fmt.Sprintf("entry %d: at most %d characters", i+1, MaxRuleLength)
				break
			}
			if expr, ok := IsRegexRule(s); ok {
				if _, err := regexp.Compile(expr); err != nil {
					fe[field] = fmt.Sprintf("entry %d: %s is not a valid regular expression: %v", i+1, s, err)
					break
				}
			}
		}
	}
	if r.MaxTotalMS < 0 || r.MaxTotalMS > MaxRuleTotalMS {
		fe["rules.max_total_ms"] = fmt.Sprintf("must be 0 (no limit) to %d", MaxRuleTotalMS)
	}
	if r.MaxHops < 0 || r.MaxHops > MaxRuleHops {
		fe["rules.max_hops"] = fmt.Sprintf("must be 0 (only the global limit) to %d", MaxRuleHops)
	}
}
