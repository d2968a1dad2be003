"""The site"s menu as a category tree, for when its REST API cannot be reached.

Ids and slugs follow iran-hrm.com"s category pages. Subscriptions name categories by slug,
so they stay valid when the site"s own tree replaces this one.
"""

from __future__ import annotations

from storage import Category

FALLBACK_CATEGORIES: tuple[Category, ...] = (
    Category(3, "news", "Latest News", 0),
    Category(4, "executions", "Executions", 0),
    Category(17, "publications", "Publications", 0),
    Category(24, "international-reactions", "International Reactions", 0),
    Category(52, "fallen-for-freedom", "Fallen for Freedom", 0),
    Category(119, "campaigns", "Campaigns", 0),
    Category(5, "arrests", "Arrests", 3),
    Category(6, "prisons", "Prisons", 3),
    Category(7, "torture", "Torture", 3),
    Category(8, "death-sentence", "Death Sentence", 3),
    Category(9, "political-prisoners", "Political prisoners", 3),
    Category(35, "arbitrary-murders", "Arbitrary Murders", 3),
    Category(36, "right-to-peaceful-protest", "Right to Peaceful Protest", 3),
    Category(37, "religious-and-ethnic-minorities", "Religious and Ethnic Minorities", 3),
    Category(41, "1988-massacre", "1988 massacre", 3),
    Category(11, "women", "Women", 4),
    Category(12, "public-execution", "Public execution", 4),
    Category(13, "mass-execution", "Mass execution", 4),
    Category(118, "no-to-execution-tuesdays", "No to Execution Tuesdays", 4),
    Category(120, "no-to-execution-tuesdays-statement", "No to Execution Tuesdays Statement", 4),
    Category(131, "political-prisoners-executions", "Political prisoners", 4),
    Category(18, "articles", "Articles", 17),
    Category(19, "monthlies", "Monthlies", 17),
    Category(20, "infographics", "Infographics", 17),
    Category(21, "documents", "Documents", 17),
    Category(25, "unhrc-resolutions", "UNHRC Resolutions", 24),
    Category(
        26, "un-special-rapporteur-on-iran-reports", "UN Special Rapporteur on Iran Reports", 24
    ),
    Category(27, "european-parliament", "European Parliament", 24),
    Category(28, "amnesty-international", "Amnesty International", 24),
    Category(142, "un-fact-finding-mission-on-iran", "UN Fact Finding Mission on Iran", 24),
    Category(143, "un-expert-statements", "UN Expert Statements", 24),
    Category(53, "1988-massacre-victims", "1988 Massacre Victims", 52),
    Category(54, "iran-protests", "Iran Protests", 52),
    Category(55, "november-2019-protests", "November 2019 Protests", 52),
)
