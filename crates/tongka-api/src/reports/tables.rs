//! The five reports as tables (`export::Table`), for their CSV and .xlsx:
//! one function per report, from the very view its JSON is, so a file
//! says what the JSON says. A column per JSON figure of a row; the JSON's
//! summaries (totals, the chain, points outstanding) as the last rows,
//! labelled in the store column ("合计", "全链"). A sales row's
//! per-tender breakdown is not a column: `channel` gives one tender's
//! figures as a whole table. A file of a report asked with a `channel`
//! names it in its file name, as the JSON's `channel` does.

use tongka_core::day::Day;

use super::{
    FreshnessView, LiabilityReportView, MembersView, PointsView, RankingsView, SalesRowView,
    SalesView,
};
use crate::export::{Cell, Column, Exportable, Kind, Source, Table};

pub(super) const DAY: Column = Column::new("日期", "Day", Kind::Date);
pub(super) const STORE: Column = Column::new("门店", "Store", Kind::Text);

pub(super) const TOTAL: Cell = Cell::Label {
    zh: "合计",
    en: "Total",
};
const CHAIN: Cell = Cell::Label {
    zh: "全链",
    en: "Chain",
};

/// The report's freshness, as the file's second sheet gives it.
pub(super) fn sources(f: &FreshnessView) -> Vec<Source> {
    f.newest
        .iter()
        .map(|n| Source {
            store: n.store.to_string(),
            seq: n.seq,
            at: n.at.0.to_string(),
        })
        .collect()
}

pub(super) fn range(from: Day, to: Day) -> Vec<String> {
    vec![from.to_string(), to.to_string()]
}

impl SalesRowView {
    fn cells(&self, day: Cell, store: Cell) -> Vec<Cell> {
        vec![
            day,
            store,
            Cell::Int(self.sales as i64),
            Cell::Money(self.sales_amount),
            Cell::Int(self.recharges as i64),
            Cell::Money(self.recharged_principal),
            Cell::Money(self.recharged_bonus),
            Cell::Int(self.refunds as i64),
            Cell::Money(self.refunded),
            Cell::Money(self.balance_spent_principal),
            Cell::Money(self.balance_spent_bonus),
            Cell::Money(self.balance_refunded_principal),
            Cell::Money(self.balance_refunded_bonus),
        ]
    }
}

impl Exportable for SalesView {
    fn table(&self) -> Table {
        let mut suffix = range(self.from.0, self.to.0);
        suffix.extend(self.channel.map(str::to_string));
        let mut rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| {
                r.cells(
                    r.day.as_ref().map_or(Cell::Empty, |d| Cell::Date(d.0)),
                    r.store
                        .as_ref()
                        .map_or(Cell::Empty, |s| Cell::Text(s.to_string())),
                )
            })
            .collect();
        rows.push(self.totals.cells(Cell::Empty, TOTAL));
        Table {
            name: "sales",
            title_zh: "销售日报",
            title_en: "Sales",
            suffix,
            columns: vec![
                DAY,
                STORE,
                Column::new("销售笔数", "Sales", Kind::Integer),
                Column::new("销售金额", "Sales amount", Kind::Money),
                Column::new("充值笔数", "Recharges", Kind::Integer),
                Column::new("充值本金", "Recharged principal", Kind::Money),
                Column::new("充值赠送", "Recharged bonus", Kind::Money),
                Column::new("退款笔数", "Refunds", Kind::Integer),
                Column::new("退款金额", "Refunded", Kind::Money),
                Column::new("余额消费本金", "Balance spent, principal", Kind::Money),
                Column::new("余额消费赠送", "Balance spent, bonus", Kind::Money),
                Column::new("余额退回本金", "Balance refunded, principal", Kind::Money),
                Column::new("余额退回赠送", "Balance refunded, bonus", Kind::Money),
            ],
            rows,
            freshness: sources(&self.freshness),
        }
    }
}

impl Exportable for LiabilityReportView {
    fn table(&self) -> Table {
        let mut rows: Vec<Vec<Cell>> = self
            .stores
            .iter()
            .map(|s| {
                vec![
                    Cell::Text(s.store.to_string()),
                    Cell::Money(s.principal),
                    Cell::Money(s.bonus),
                ]
            })
            .collect();
        if let Some(c) = &self.chain {
            rows.push(vec![CHAIN, Cell::Money(c.principal), Cell::Money(c.bonus)]);
        }
        Table {
            name: "liability",
            title_zh: "储值负债",
            title_en: "Liability",
            // As of the day it is asked: the liability has no range.
            suffix: vec![crate::today().to_string()],
            columns: vec![
                STORE,
                Column::new("本金", "Principal", Kind::Money),
                Column::new("赠送", "Bonus", Kind::Money),
            ],
            rows,
            freshness: sources(&self.freshness),
        }
    }
}

impl Exportable for PointsView {
    fn table(&self) -> Table {
        let mut rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Date(r.day.0),
                    Cell::Text(r.store.to_string()),
                    Cell::Int(r.issued),
                    Cell::Int(r.imported),
                    Cell::Int(r.redeemed),
                    Cell::Int(r.reversed),
                    Cell::Int(r.returned),
                    Cell::Int(r.expired),
                    Cell::Int(r.moved_in),
                    Cell::Int(r.moved_out),
                    Cell::Int(r.net),
                    Cell::Empty,
                ]
            })
            .collect();
        // Each store's points outstanding over all its days, then the
        // chain's: the last column only.
        let outstanding = |store: Cell, n: i64| {
            let mut row = vec![Cell::Empty, store];
            row.extend(std::iter::repeat_n(Cell::Empty, 9));
            row.push(Cell::Int(n));
            row
        };
        for s in &self.stores {
            rows.push(outstanding(Cell::Text(s.store.to_string()), s.outstanding));
        }
        if let Some(n) = self.chain_outstanding {
            rows.push(outstanding(CHAIN, n));
        }
        let mut suffix = range(self.from.0, self.to.0);
        suffix.extend(self.channel.map(str::to_string));
        Table {
            name: "points",
            title_zh: "积分报表",
            title_en: "Points",
            suffix,
            columns: vec![
                DAY,
                STORE,
                Column::new("发放", "Issued", Kind::Integer),
                Column::new("导入", "Imported", Kind::Integer),
                Column::new("抵现", "Redeemed", Kind::Integer),
                Column::new("冲回", "Reversed", Kind::Integer),
                Column::new("退回", "Returned", Kind::Integer),
                Column::new("过期", "Expired", Kind::Integer),
                Column::new("调入", "Moved in", Kind::Integer),
                Column::new("调出", "Moved out", Kind::Integer),
                Column::new("净增", "Net", Kind::Integer),
                Column::new(
                    "未用余额（全部日期）",
                    "Outstanding (all days)",
                    Kind::Integer,
                ),
            ],
            rows,
            freshness: sources(&self.freshness),
        }
    }
}

impl Exportable for MembersView {
    fn table(&self) -> Table {
        let mut rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Date(r.day.0),
                    Cell::Text(r.store.to_string()),
                    Cell::Int(r.new as i64),
                    Cell::Int(r.registered as i64),
                    Cell::Int(r.imported as i64),
                    Cell::Int(r.active as i64),
                ]
            })
            .collect();
        // Active members do not add up across days (one member active on
        // two days counts on each): the totals row has the new ones only.
        rows.push(vec![
            Cell::Empty,
            TOTAL,
            Cell::Int(self.new as i64),
            Cell::Int(self.registered as i64),
            Cell::Int(self.imported as i64),
            Cell::Empty,
        ]);
        let mut suffix = range(self.from.0, self.to.0);
        suffix.extend(self.channel.map(str::to_string));
        Table {
            name: "members",
            title_zh: "会员增长",
            title_en: "Members",
            suffix,
            columns: vec![
                DAY,
                STORE,
                Column::new("新会员", "New", Kind::Integer),
                Column::new("门店注册", "Registered", Kind::Integer),
                Column::new("导入", "Imported", Kind::Integer),
                Column::new("活跃会员", "Active", Kind::Integer),
            ],
            rows,
            freshness: sources(&self.freshness),
        }
    }
}

impl Exportable for RankingsView {
    fn table(&self) -> Table {
        // Members or products ranked: their tables (`more`).
        if let Some(t) = super::more::ranked_table(self) {
            return t;
        }
        let mut suffix = range(self.from.0, self.to.0);
        suffix.extend(self.channel.map(str::to_string));
        Table {
            name: "rankings",
            title_zh: "门店排名",
            title_en: "Rankings",
            suffix,
            columns: vec![
                Column::new("名次", "Rank", Kind::Integer),
                STORE,
                Column::new("销售金额", "Sales amount", Kind::Money),
                Column::new("销售笔数", "Sales", Kind::Integer),
                Column::new("退款金额", "Refunded", Kind::Money),
                Column::new("充值本金", "Recharged principal", Kind::Money),
            ],
            rows: self
                .stores
                .iter()
                .map(|r| {
                    vec![
                        Cell::Int(r.rank as i64),
                        Cell::Text(r.store.to_string()),
                        Cell::Money(r.sales_amount),
                        Cell::Int(r.sales as i64),
                        Cell::Money(r.refunded),
                        Cell::Money(r.recharged_principal),
                    ]
                })
                .collect(),
            freshness: sources(&self.freshness),
        }
    }
}
