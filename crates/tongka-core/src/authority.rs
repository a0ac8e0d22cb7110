//! Who may author what: the one rule. HQ sells nothing (no recharge, sale
//! or refund); HQ alone authors the programme and the catalogue; a node of
//! no chain (a quick-start node), whose ops no other node checks, authors
//! anything. Checked on ops received from other nodes
//! (`op::check_authority`), on the drafts a node makes itself
//! ([`may_author`], in the engine), and early on requests ([`may`], in the
//! API), so a node never commits an op every other node would refuse.

use crate::error::DomainError;
use crate::op::{OpBody, OriginRole};

/// What an op does, as far as authority goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// A recharge, sale, refund or card visit.
    Sell,
    AuthorProgramme,
    AuthorCatalogue,
    /// A change of the origin's own stock: HQ holds none.
    Stock,
    /// A close of the origin's own shift or day: HQ takes no money in.
    Close,
    /// Members imported with opening balances: HQ holds no stored value.
    Import,
    /// Anything else (members, profiles, transfers, merges, coupons issued).
    Other,
    /// A withdrawal asked for (提现): by a store, of what it is owed.
    RequestWithdrawal,
    /// A withdrawal approved or rejected: by HQ alone.
    DecideWithdrawal,
}

impl Act {
    pub fn of(body: &OpBody) -> Act {
        match body {
            OpBody::Recharged { .. }
            | OpBody::CheckedOut { .. }
            | OpBody::Refunded { .. }
            | OpBody::CardVisited { .. } => Act::Sell,
            OpBody::ProgrammeChanged { .. } => Act::AuthorProgramme,
            OpBody::CatalogueChanged { .. } => Act::AuthorCatalogue,
            OpBody::StockChanged { .. } => Act::Stock,
            OpBody::DayClosed { .. } => Act::Close,
            OpBody::MemberRegistered {
                opening: Some(_), ..
            } => Act::Import,
            OpBody::MemberRegistered { .. }
            | OpBody::ProfileUpdated { .. }
            | OpBody::SharesTransferred { .. }
            | OpBody::MembersMerged { .. }
            | OpBody::MergeMoved { .. }
            | OpBody::CouponIssued { .. }
            | OpBody::UsesTransferred { .. }
            | OpBody::StaffChanged { .. } => Act::Other,
            OpBody::Withdrawal { step, .. } => {
                if step.is_request() {
                    Act::RequestWithdrawal
                } else {
                    Act::DecideWithdrawal
                }
            }
        }
    }
}

/// Why a node may not author an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAuthorised {
    #[error("HQ sells nothing: recharges, sales and refunds happen at stores")]
    HqSellsNothing,
    #[error("the programme is authored by HQ for the whole chain; change it at the HQ node")]
    ProgrammeHqOnly,
    #[error(
        "the catalogue (products and prices) is authored by HQ for the whole chain; change it at the HQ node"
    )]
    CatalogueHqOnly,
    #[error("HQ holds no stock: goods in, returns, transfers and stocktakes happen at stores")]
    HqHoldsNoStock,
    #[error("a withdrawal is requested by the store that is owed the money, not by HQ")]
    WithdrawalAtStores,
    #[error("a withdrawal is approved or rejected by HQ alone")]
    WithdrawalHqDecides,
    #[error("HQ takes no money in: a store closes its own shifts and days, at the store")]
    HqClosesNothing,
    #[error(
        "HQ holds no stored value: members with opening balances are imported at a store, which holds them"
    )]
    HqHoldsNoBalances,
}

impl DomainError for NotAuthorised {
    fn code(&self) -> &'static str {
        match self {
            NotAuthorised::HqSellsNothing => "hq_sells_nothing",
            NotAuthorised::ProgrammeHqOnly => "programme_hq_only",
            NotAuthorised::CatalogueHqOnly => "catalogue_hq_only",
            NotAuthorised::HqHoldsNoStock => "hq_holds_no_stock",
            NotAuthorised::WithdrawalAtStores => "withdrawal_at_stores",
            NotAuthorised::WithdrawalHqDecides => "withdrawal_hq_decides",
            NotAuthorised::HqClosesNothing => "hq_closes_nothing",
            NotAuthorised::HqHoldsNoBalances => "hq_holds_no_balances",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            NotAuthorised::HqSellsNothing => "总部不收银：充值、收银和退款请在门店进行",
            NotAuthorised::ProgrammeHqOnly => "会员方案由总部统一制定，请在总部节点修改",
            NotAuthorised::CatalogueHqOnly => {
                "商品目录（商品与价格）由总部统一维护，请在总部节点修改"
            }
            NotAuthorised::HqHoldsNoStock => "总部不持有库存：入库、退货、调拨和盘点请在门店进行",
            NotAuthorised::WithdrawalAtStores => "提现由应收款的门店申请，总部不申请提现",
            NotAuthorised::WithdrawalHqDecides => "提现只能由总部审批或驳回",
            NotAuthorised::HqClosesNothing => "总部不收款：交班和日结由门店在本店进行",
            NotAuthorised::HqHoldsNoBalances => {
                "总部不持有储值：会员导入（含期初余额）请在门店进行，余额归该门店"
            }
        }
        .into()
    }
}

/// Whether a node of `role` may do `act` (`None`: a node of no chain).
pub fn may(role: Option<OriginRole>, act: Act) -> Result<(), NotAuthorised> {
    match (role, act) {
        (Some(OriginRole::Hq), Act::Sell) => Err(NotAuthorised::HqSellsNothing),
        (Some(OriginRole::Hq), Act::Stock) => Err(NotAuthorised::HqHoldsNoStock),
        (Some(OriginRole::Hq), Act::Close) => Err(NotAuthorised::HqClosesNothing),
        (Some(OriginRole::Hq), Act::Import) => Err(NotAuthorised::HqHoldsNoBalances),
        (Some(OriginRole::Store), Act::AuthorProgramme) => Err(NotAuthorised::ProgrammeHqOnly),
        (Some(OriginRole::Store), Act::AuthorCatalogue) => Err(NotAuthorised::CatalogueHqOnly),
        (Some(OriginRole::Hq), Act::RequestWithdrawal) => Err(NotAuthorised::WithdrawalAtStores),
        (Some(OriginRole::Store), Act::DecideWithdrawal) => Err(NotAuthorised::WithdrawalHqDecides),
        (None, _)
        | (Some(_), Act::Other)
        | (Some(OriginRole::Store), Act::Sell | Act::Stock | Act::Close | Act::Import)
        | (Some(OriginRole::Hq), Act::AuthorProgramme | Act::AuthorCatalogue) => Ok(()),
        (Some(OriginRole::Store), Act::RequestWithdrawal)
        | (Some(OriginRole::Hq), Act::DecideWithdrawal) => Ok(()),
    }
}

/// Whether a node of `role` may author `body`.
pub fn may_author(role: Option<OriginRole>, body: &OpBody) -> Result<(), NotAuthorised> {
    may(role, Act::of(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{MemberId, RechargeId};
    use crate::money::Money;

    #[test]
    fn hq_sells_nothing_and_stores_author_no_documents() {
        let recharge = OpBody::Recharged {
            member: MemberId::parse("m-store-1-1").unwrap(),
            recharge: RechargeId::parse("r-store-1-2").unwrap(),
            amount: Money::from_yuan(100),
            bonus: Money::ZERO,
            tender: crate::checkout::TenderKind::Cash,
        };
        let programme = OpBody::ProgrammeChanged {
            change: Vec::new(),
            programme: Default::default(),
        };
        assert_eq!(
            may_author(Some(OriginRole::Hq), &recharge),
            Err(NotAuthorised::HqSellsNothing)
        );
        assert_eq!(may_author(Some(OriginRole::Store), &recharge), Ok(()));
        assert_eq!(
            may_author(Some(OriginRole::Store), &programme),
            Err(NotAuthorised::ProgrammeHqOnly)
        );
        assert_eq!(may_author(Some(OriginRole::Hq), &programme), Ok(()));
        // A node of no chain authors both.
        assert_eq!(may_author(None, &recharge), Ok(()));
        assert_eq!(may_author(None, &programme), Ok(()));
        assert_eq!(NotAuthorised::ProgrammeHqOnly.code(), "programme_hq_only");
    }
}
